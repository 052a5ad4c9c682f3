/*-------------------------------------------------------------------------
 *
 * aws_cost.c
 *		  aws_cost: AWS Cost Explorer GetCostAndUsage as a foreign table.
 *
 * Quals become the request: date ranges the tightest TimePeriod, dimension
 * equalities and exclusions the Filter expression, and the dimensions the
 * query must see the GroupBy (at most two, as the API allows).  A dimension
 * fixed by "=" is filled from the qual instead of grouped.  Pages are
 * parsed with PostgreSQL's event JSON parser, amounts straight from their
 * decimal strings into numeric.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/jsonapi.h"
#include "datatype/timestamp.h"
#include "finops_usage.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/json.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

/* Columns (SPEC §3.1) */
enum
{
	COL_PERIOD_START,
	COL_PERIOD_END,
	COL_GRANULARITY,
	COL_LINKED_ACCOUNT,
	COL_SERVICE,
	COL_REGION,
	COL_USAGE_TYPE,
	COL_OPERATION,
	COL_INSTANCE_TYPE,
	COL_RECORD_TYPE,
	COL_TAG_KEY,
	COL_TAG_VALUE,
	COL_UNBLENDED_COST,
	COL_BLENDED_COST,
	COL_AMORTIZED_COST,
	COL_NET_UNBLENDED_COST,
	COL_NET_AMORTIZED_COST,
	COL_USAGE_QUANTITY,
	COL_NORMALIZED_USAGE_AMOUNT,
	COL_CURRENCY,
	COL_USAGE_UNIT,
	COL_ESTIMATED,
	NUM_COLS
};

#define FIRST_DIM	COL_LINKED_ACCOUNT
#define LAST_DIM	COL_RECORD_TYPE
#define FIRST_METRIC COL_UNBLENDED_COST
#define NUM_METRICS 7
#define METRIC_USAGE (COL_USAGE_QUANTITY - FIRST_METRIC)

static const FuColumn cost_columns[NUM_COLS] = {
	{"period_start", DATEOID, FU_OPS_RANGE},
	{"period_end", DATEOID, FU_OPS_RANGE},
	{"granularity", TEXTOID, FU_OPS_EQ},
	{"linked_account", TEXTOID, FU_OPS_SET_NEG},
	{"service", TEXTOID, FU_OPS_SET_NEG},
	{"region", TEXTOID, FU_OPS_SET_NEG},
	{"usage_type", TEXTOID, FU_OPS_SET_NEG},
	{"operation", TEXTOID, FU_OPS_SET_NEG},
	{"instance_type", TEXTOID, FU_OPS_SET_NEG},
	{"record_type", TEXTOID, FU_OPS_SET_NEG},
	{"tag_key", TEXTOID, FU_OPS_EQ},
	{"tag_value", TEXTOID, FU_OPS_SET},
	{"unblended_cost", NUMERICOID, 0},
	{"blended_cost", NUMERICOID, 0},
	{"amortized_cost", NUMERICOID, 0},
	{"net_unblended_cost", NUMERICOID, 0},
	{"net_amortized_cost", NUMERICOID, 0},
	{"usage_quantity", NUMERICOID, 0},
	{"normalized_usage_amount", NUMERICOID, 0},
	{"currency", TEXTOID, 0},
	{"usage_unit", TEXTOID, 0},
	{"estimated", BOOLOID, 0},
};

/* Cost Explorer dimension keys of the dimension columns */
static const char *const dim_keys[] = {
	"LINKED_ACCOUNT", "SERVICE", "REGION", "USAGE_TYPE", "OPERATION",
	"INSTANCE_TYPE", "RECORD_TYPE"
};

static const char *const metric_names[NUM_METRICS] = {
	"UnblendedCost", "BlendedCost", "AmortizedCost", "NetUnblendedCost",
	"NetAmortizedCost", "UsageQuantity", "NormalizedUsageAmount"
};

/* fdw_private of the plan */
enum
{
	PlanMetricMask,				/* Integer: metrics to request */
	PlanGroupCols,				/* List of Integer: grouped dimension columns */
	PlanTagGroup				/* Integer: group by the tag_key's tag */
};

#define MAX_GROUPS 2

/* One row of a page */
typedef struct CeRow
{
	int			period;
	int			nkeys;
	char	   *keys[MAX_GROUPS];
	char	   *amount[NUM_METRICS];
	char	   *unit[NUM_METRICS];
} CeRow;

typedef struct CePeriod
{
	DateADT		start;
	DateADT		end;
	bool		estimated;
} CePeriod;

/* Scan state */
typedef struct CeState
{
	/* from the plan and the bound quals */
	int			metric_mask;
	int			ngroups;
	int			group_cols[MAX_GROUPS];	/* column, or COL_TAG_VALUE */
	bool		tag_group;
	char	   *tag_key;
	char	   *granularity;
	DateADT		start;
	DateADT		end;
	bool		default_start;
	bool		default_end;
	char	   *base_body;		/* request body without NextPageToken */
	Datum		fixed[NUM_COLS];	/* values filled from "=" quals */
	bool		has_fixed[NUM_COLS];

	/* current page (page context) */
	CeRow	   *rows;
	int			nrows;
	int			maxrows;
	CePeriod   *periods;
	int			nperiods;
	int			maxperiods;
	char	   *next_token;
	int			cur;

	/* parser position */
	int			depth;
	char	   *fields[16];
	CeRow	   *row;			/* row being filled */
	int			metric;			/* metric object being read, or -1 */
	bool		seen_results;
} CeState;

/* ---------- planning ---------- */

static FuPushdown
cost_classify_qual(const FuSource *src, const FuQual *q)
{
	switch (q->col)
	{
		case COL_PERIOD_START:
		case COL_PERIOD_END:
			if (q->valtype == DATEOID)
				return FU_PUSH_EXACT;
			/* compared with a timestamp: widened by a day, rechecked */
			if (q->valtype == TIMESTAMPTZOID || q->valtype == TIMESTAMPOID)
				return FU_PUSH_RECHECK;
			return FU_PUSH_NONE;
		default:
			return q->valtype == TEXTOID ? FU_PUSH_EXACT : FU_PUSH_NONE;
	}
}

static List *
cost_plan(FuPlanInfo *pi)
{
	int			metric_mask = 0;
	List	   *groups = NIL;
	bool		tag_group = false;
	bool		tag_key_fixed = fu_find_qual(pi->quals, COL_TAG_KEY, FU_OP_EQ) != NULL;
	double		rows;
	int			ngroups;

	for (int c = FIRST_DIM; c <= LAST_DIM; c++)
	{
		if (!bms_is_member(c, pi->needed))
			continue;
		/* a dimension fixed by "=" is filled from the qual */
		if (fu_find_qual(pi->quals, c, FU_OP_EQ) != NULL)
			continue;
		groups = lappend(groups, makeInteger(c));
	}

	if (bms_is_member(COL_TAG_VALUE, pi->needed))
		tag_group = true;

	ngroups = list_length(groups) + (tag_group ? 1 : 0);
	if (ngroups > MAX_GROUPS)
	{
		StringInfoData names;
		ListCell   *lc;

		initStringInfo(&names);
		foreach(lc, groups)
			appendStringInfo(&names, "%s%s", names.len ? ", " : "",
							 cost_columns[intVal(lfirst(lc))].name);
		if (tag_group)
			appendStringInfo(&names, ", tag_value");
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("aws_cost can group by at most two dimensions, but the query needs %d (%s)",
						ngroups, names.data),
				 errdetail("Cost Explorer accepts at most two GroupBy keys. A dimension fixed with \"=\" needs no grouping."),
				 errhint("Select fewer dimension columns, fix some with \"=\", or query aws_cost_by_service, aws_cost_by_account, aws_cost_by_region or aws_cost_by_usage_type.")));
	}

	if ((bms_is_member(COL_TAG_VALUE, pi->needed) ||
		 fu_find_qual(pi->quals, COL_TAG_VALUE, FU_OP_EQ) ||
		 fu_find_qual(pi->quals, COL_TAG_VALUE, FU_OP_IN)) && !tag_key_fixed)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("aws_cost needs tag_key = '<key>' to read or filter tag_value"),
				 errhint("Add a condition such as WHERE tag_key = 'env'.")));
	if (bms_is_member(COL_TAG_KEY, pi->needed) && !tag_key_fixed)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("aws_cost needs tag_key = '<key>' to show tag_key"),
				 errhint("Cost Explorer groups by one tag key at a time; add a condition such as WHERE tag_key = 'env'.")));
	for (int m = 0; m < NUM_METRICS; m++)
		if (bms_is_member(FIRST_METRIC + m, pi->needed))
			metric_mask |= 1 << m;
	if (bms_is_member(COL_USAGE_UNIT, pi->needed))
		metric_mask |= 1 << METRIC_USAGE;
	if ((metric_mask & ~(1 << METRIC_USAGE) & ~(1 << (COL_NORMALIZED_USAGE_AMOUNT - FIRST_METRIC))) == 0 &&
		(metric_mask == 0 || bms_is_member(COL_CURRENCY, pi->needed)))
		metric_mask |= 1;		/* UnblendedCost */

	/* about 400 days by default; ~15 values per grouped dimension */
	rows = 400;
	for (int i = 0; i < ngroups; i++)
		rows *= 15;
	pi->rows = rows;
	pi->calls = 1;

	return list_make3(makeInteger(metric_mask), groups, makeInteger(tag_group));
}

/* ---------- scan start ---------- */

static DateADT
month_floor(DateADT d)
{
	int			y,
				m,
				day;

	j2date(d + POSTGRES_EPOCH_JDATE, &y, &m, &day);
	return date2j(y, m, 1) - POSTGRES_EPOCH_JDATE;
}

static DateADT
add_months(DateADT d, int n)
{
	int			y,
				m,
				day,
				mdays;

	j2date(d + POSTGRES_EPOCH_JDATE, &y, &m, &day);
	m += n;
	while (m > 12)
	{
		m -= 12;
		y++;
	}
	while (m < 1)
	{
		m += 12;
		y--;
	}
	mdays = day_tab[isleap(y)][m - 1];
	return date2j(y, m, Min(day, mdays)) - POSTGRES_EPOCH_JDATE;
}

static DateADT
month_ceil(DateADT d)
{
	DateADT		f = month_floor(d);

	return f == d ? d : add_months(f, 1);
}

static char *
date_text(DateADT d)
{
	int			y,
				m,
				day;

	j2date(d + POSTGRES_EPOCH_JDATE, &y, &m, &day);
	return psprintf("%04d-%02d-%02d", y, m, day);
}

/* A date qual value as a date; timestamps give their UTC date */
static DateADT
qual_date(FuQual *q)
{
	if (q->valtype == DATEOID)
		return DatumGetDateADT(q->value);
	/* timestamp and timestamptz: both count microseconds from 2000-01-01 */
	{
		Timestamp	ts = DatumGetTimestamp(q->value);

		if (TIMESTAMP_NOT_FINITE(ts))
			return TIMESTAMP_IS_NOBEGIN(ts) ? DATEVAL_NOBEGIN : DATEVAL_NOEND;
		return (DateADT) (ts >= 0 ? ts / USECS_PER_DAY :
						  -((-ts + USECS_PER_DAY - 1) / USECS_PER_DAY));
	}
}

/*
 * Narrow [lo, hi) of bucket starts by one qual on period_start or
 * period_end.  A bucket ends one step (a day or a month) after it starts,
 * so "period_end op d" is "period_start op d - step".
 */
static void
narrow_window(FuQual *q, bool monthly, DateADT *lo, DateADT *hi)
{
	DateADT		d = qual_date(q);
	FuOp		op = q->op;

	if (DATE_NOT_FINITE(d))
	{
		/* infinity bounds nothing; -infinity/+infinity on the wrong side empties */
		if ((d == DATEVAL_NOEND && (op == FU_OP_GT || op == FU_OP_GE || op == FU_OP_EQ)) ||
			(d == DATEVAL_NOBEGIN && (op == FU_OP_LT || op == FU_OP_LE || op == FU_OP_EQ)))
			*hi = *lo;
		return;
	}
	if (q->col == COL_PERIOD_END)
		d = monthly ? add_months(d, -1) : d - 1;

	if (q->pushdown == FU_PUSH_RECHECK)
	{
		/* widen by a day: the local recheck does the exact comparison */
		if (op == FU_OP_GT || op == FU_OP_GE)
		{
			op = FU_OP_GE;
			d -= 1;
		}
		else if (op == FU_OP_LT || op == FU_OP_LE)
		{
			op = FU_OP_LE;
			d += 1;
		}
		else if (op == FU_OP_EQ)
		{
			*lo = Max(*lo, d - 1);
			*hi = Min(*hi, d + 2);
			return;
		}
	}

	switch (op)
	{
		case FU_OP_EQ:
			*lo = Max(*lo, d);
			*hi = Min(*hi, d + 1);
			break;
		case FU_OP_GE:
			*lo = Max(*lo, d);
			break;
		case FU_OP_GT:
			*lo = Max(*lo, d + 1);
			break;
		case FU_OP_LE:
			*hi = Min(*hi, d + 1);
			break;
		case FU_OP_LT:
			*hi = Min(*hi, d);
			break;
		default:
			break;
	}
}

static char *
qual_text(Datum d)
{
	return TextDatumGetCString(d);
}

static void
append_values(StringInfo buf, FuQual *q)
{
	bool		first = true;

	appendStringInfoString(buf, "\"Values\":[");
	if (q->op == FU_OP_EQ || q->op == FU_OP_NE)
		escape_json(buf, qual_text(q->value));
	else
	{
		for (int i = 0; i < q->nelems; i++)
		{
			if (q->elemnulls[i])
				continue;
			if (!first)
				appendStringInfoChar(buf, ',');
			escape_json(buf, qual_text(q->elems[i]));
			first = false;
		}
	}
	appendStringInfoChar(buf, ']');
}

/* Does the bound qual let no row through (NULL comparisons, empty IN)? */
static bool
qual_matches_nothing(FuQual *q)
{
	if (q->isnull)
		return true;
	if (q->op == FU_OP_IN)
	{
		for (int i = 0; i < q->nelems; i++)
			if (!q->elemnulls[i])
				return false;
		return true;
	}
	if (q->op == FU_OP_NOT_IN)
	{
		for (int i = 0; i < q->nelems; i++)
			if (q->elemnulls[i])
				return true;
	}
	return false;
}

static void
cost_begin(FuScan *scan)
{
	CeState    *st = palloc0(sizeof(CeState));
	List	   *pp = scan->plan_private;
	ListCell   *lc;
	bool		monthly = false;
	DateADT		today = fu_today_date();
	DateADT		lo = DATEVAL_NOBEGIN;
	DateADT		hi = DATEVAL_NOEND;
	bool		has_lo = false;
	bool		has_hi = false;
	List	   *leaves = NIL;
	StringInfoData body;

	scan->pstate = st;
	st->metric_mask = intVal(list_nth(pp, PlanMetricMask));
	foreach(lc, (List *) list_nth(pp, PlanGroupCols))
		st->group_cols[st->ngroups++] = intVal(lfirst(lc));
	st->tag_group = intVal(list_nth(pp, PlanTagGroup)) != 0;
	if (st->tag_group)
		st->group_cols[st->ngroups++] = COL_TAG_VALUE;
	st->granularity = "DAILY";

	/* a pushed qual that no row can satisfy: nothing to ask */
	foreach(lc, scan->quals)
	{
		FuQual	   *q = (FuQual *) lfirst(lc);

		if (q->known && qual_matches_nothing(q))
			return;
	}

	foreach(lc, scan->quals)
	{
		FuQual	   *q = (FuQual *) lfirst(lc);

		if (q->col == COL_GRANULARITY && q->known)
		{
			char	   *g = qual_text(q->value);

			if (strcmp(g, "DAILY") != 0 && strcmp(g, "MONTHLY") != 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("aws_cost granularity must be DAILY or MONTHLY, not \"%s\"", g),
						 errhint("Hourly cost data is not available through aws_cost.")));
			st->granularity = g;
			monthly = strcmp(g, "MONTHLY") == 0;
			st->fixed[COL_GRANULARITY] = q->value;
			st->has_fixed[COL_GRANULARITY] = true;
		}
	}
	if (!st->has_fixed[COL_GRANULARITY])
	{
		st->fixed[COL_GRANULARITY] = CStringGetTextDatum("DAILY");
		st->has_fixed[COL_GRANULARITY] = true;
	}

	foreach(lc, scan->quals)
	{
		FuQual	   *q = (FuQual *) lfirst(lc);
		StringInfoData leaf;

		if (!q->known)
			continue;
		if (q->col == COL_PERIOD_START || q->col == COL_PERIOD_END)
		{
			narrow_window(q, monthly, &lo, &hi);
			if (q->op == FU_OP_EQ || q->op == FU_OP_GT || q->op == FU_OP_GE)
				has_lo = true;
			if (q->op == FU_OP_EQ || q->op == FU_OP_LT || q->op == FU_OP_LE)
				has_hi = true;
			continue;
		}
		if (q->col == COL_TAG_KEY)
		{
			st->tag_key = qual_text(q->value);
			st->fixed[COL_TAG_KEY] = q->value;
			st->has_fixed[COL_TAG_KEY] = true;
			continue;
		}
		if (q->col < FIRST_DIM || (q->col > LAST_DIM && q->col != COL_TAG_VALUE))
			continue;
		if (q->op == FU_OP_EQ && q->col != COL_TAG_VALUE)
		{
			st->fixed[q->col] = q->value;
			st->has_fixed[q->col] = true;
		}
		if (q->op == FU_OP_NOT_IN && q->nelems == 0)
			continue;			/* NOT IN () excludes nothing */

		initStringInfo(&leaf);
		if (q->op == FU_OP_NE || q->op == FU_OP_NOT_IN)
			appendStringInfoString(&leaf, "{\"Not\":");
		if (q->col == COL_TAG_VALUE)
			appendStringInfoString(&leaf, "{\"Tags\":{\"Key\":");
		else
			appendStringInfoString(&leaf, "{\"Dimensions\":{\"Key\":");
		/* the tag key is filled in below, once known */
		if (q->col == COL_TAG_VALUE)
			appendStringInfoString(&leaf, "\x01");
		else
			escape_json(&leaf, dim_keys[q->col - FIRST_DIM]);
		appendStringInfoChar(&leaf, ',');
		append_values(&leaf, q);
		appendStringInfoString(&leaf, "}}");
		if (q->op == FU_OP_NE || q->op == FU_OP_NOT_IN)
			appendStringInfoChar(&leaf, '}');
		leaves = lappend(leaves, leaf.data);
	}

	/* defaults: what Cost Explorer keeps, up to tomorrow */
	if (!has_lo)
		lo = Max(lo, add_months(month_floor(today), -12));
	if (!has_hi)
		hi = Min(hi, today + 1);
	st->default_start = !has_lo;
	st->default_end = !has_hi;
	/* nothing exists after today */
	hi = Min(hi, today + 1);
	if (monthly)
	{
		lo = month_ceil(lo);
		hi = month_ceil(hi);
	}
	if (lo >= hi)
		return;					/* empty window: no call at all */
	st->start = lo;
	st->end = hi;

	initStringInfo(&body);
	appendStringInfo(&body, "{\"TimePeriod\":{\"Start\":\"%s\",\"End\":\"%s\"},\"Granularity\":\"%s\"",
					 date_text(lo), date_text(hi), st->granularity);
	if (leaves != NIL)
	{
		StringInfoData tagkey;

		initStringInfo(&tagkey);
		if (st->tag_key)
			escape_json(&tagkey, st->tag_key);
		appendStringInfoString(&body, ",\"Filter\":");
		if (list_length(leaves) > 1)
			appendStringInfoString(&body, "{\"And\":[");
		foreach(lc, leaves)
		{
			char	   *leaf = (char *) lfirst(lc);
			char	   *mark = strchr(leaf, '\x01');

			if (foreach_current_index(lc) > 0)
				appendStringInfoChar(&body, ',');
			if (mark)
			{
				appendBinaryStringInfo(&body, leaf, mark - leaf);
				appendStringInfoString(&body, tagkey.data);
				appendStringInfoString(&body, mark + 1);
			}
			else
				appendStringInfoString(&body, leaf);
		}
		if (list_length(leaves) > 1)
			appendStringInfoString(&body, "]}");
	}
	appendStringInfoString(&body, ",\"Metrics\":[");
	for (int m = 0, n = 0; m < NUM_METRICS; m++)
		if (st->metric_mask & (1 << m))
			appendStringInfo(&body, "%s\"%s\"", n++ ? "," : "", metric_names[m]);
	appendStringInfoChar(&body, ']');
	if (st->ngroups > 0)
	{
		appendStringInfoString(&body, ",\"GroupBy\":[");
		for (int i = 0; i < st->ngroups; i++)
		{
			int			c = st->group_cols[i];

			if (i > 0)
				appendStringInfoChar(&body, ',');
			if (c == COL_TAG_VALUE)
			{
				appendStringInfoString(&body, "{\"Type\":\"TAG\",\"Key\":");
				escape_json(&body, st->tag_key ? st->tag_key : "");
				appendStringInfoChar(&body, '}');
			}
			else
				appendStringInfo(&body, "{\"Type\":\"DIMENSION\",\"Key\":\"%s\"}",
								 dim_keys[c - FIRST_DIM]);
		}
		appendStringInfoChar(&body, ']');
	}
	appendStringInfoChar(&body, '}');
	st->base_body = body.data;

	fu_add_request(scan, "GetCostAndUsage", "POST",
				   fu_aws_endpoint(scan, "ce.us-east-1.amazonaws.com"),
				   body.data);
}

static void
cost_prepare(FuScan *scan, FuRequest *req)
{
	/* Cost Explorer is global, signed for us-east-1 */
	fu_aws_prepare(scan, req, "ce", "us-east-1",
				   "AWSInsightsIndexService.GetCostAndUsage",
				   "application/x-amz-json-1.1");
}

/* ---------- page parsing ---------- */

static void
malformed(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
			 errmsg("malformed response from AWS Cost Explorer GetCostAndUsage"),
			 errdetail("%s", what)));
}

static bool
in_results(CeState *st)
{
	return st->depth >= 2 && st->fields[1] &&
		strcmp(st->fields[1], "ResultsByTime") == 0;
}

static CeRow *
new_row(CeState *st)
{
	CeRow	   *r;

	if (st->nrows == st->maxrows)
	{
		st->maxrows = st->maxrows ? st->maxrows * 2 : 256;
		st->rows = st->rows ? repalloc(st->rows, sizeof(CeRow) * st->maxrows) :
			palloc(sizeof(CeRow) * st->maxrows);
	}
	r = &st->rows[st->nrows++];
	memset(r, 0, sizeof(CeRow));
	r->period = st->nperiods - 1;
	return r;
}

/* One level deeper into an object or array */
static void
enter_level(CeState *st)
{
	st->depth++;
	if (st->depth >= lengthof(st->fields))
		malformed("The document is nested too deeply.");
	st->fields[st->depth] = NULL;
}

static void
ce_object_start(void *arg)
{
	CeState    *st = (CeState *) arg;

	enter_level(st);
	if (!in_results(st))
		return;

	if (st->depth == 3)
	{
		/* a ResultByTime */
		if (st->nperiods == st->maxperiods)
		{
			st->maxperiods = st->maxperiods ? st->maxperiods * 2 : 64;
			st->periods = st->periods ?
				repalloc(st->periods, sizeof(CePeriod) * st->maxperiods) :
				palloc(sizeof(CePeriod) * st->maxperiods);
		}
		memset(&st->periods[st->nperiods], 0, sizeof(CePeriod));
		st->periods[st->nperiods].start = DATEVAL_NOBEGIN;
		st->nperiods++;
		st->row = NULL;
		/* without GroupBy the row is the period's Total */
		if (st->ngroups == 0)
			st->row = new_row(st);
	}
	else if (st->depth == 5 && st->ngroups > 0 &&
			 strcmp(st->fields[3], "Groups") == 0)
		st->row = new_row(st);
}

static void
ce_object_end(void *arg)
{
	CeState    *st = (CeState *) arg;

	if (in_results(st) && st->depth == 3 &&
		st->periods[st->nperiods - 1].start == DATEVAL_NOBEGIN)
		malformed("A ResultsByTime entry has no TimePeriod.");
	st->depth--;
}

static void
ce_array_start(void *arg)
{
	CeState    *st = (CeState *) arg;

	enter_level(st);
	if (st->depth == 2 && st->fields[1] &&
		strcmp(st->fields[1], "ResultsByTime") == 0)
		st->seen_results = true;
}

static void
ce_array_end(void *arg)
{
	((CeState *) arg)->depth--;
}

static void
ce_field_start(void *arg, char *fname, bool isnull)
{
	CeState    *st = (CeState *) arg;

	st->fields[st->depth] = fname;
}

static int
metric_index(const char *name)
{
	for (int m = 0; m < NUM_METRICS; m++)
		if (strcmp(name, metric_names[m]) == 0)
			return m;
	return -1;
}

static DateADT
parse_date(const char *s)
{
	int			y,
				m,
				d;
	char		tail;

	if (strlen(s) < 10 || sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) < 3 ||
		m < 1 || m > 12 || d < 1 || d > day_tab[isleap(y)][m - 1])
		malformed(psprintf("\"%s\" is not a date.", s));
	return date2j(y, m, d) - POSTGRES_EPOCH_JDATE;
}

static void
ce_scalar(void *arg, char *token, JsonTokenType type)
{
	CeState    *st = (CeState *) arg;
	const char *f = st->fields[st->depth];

	if (st->depth == 1)
	{
		if (f && strcmp(f, "NextPageToken") == 0 && type == JSON_TOKEN_STRING)
			st->next_token = token;
		else if (f && strcmp(f, "ResultsByTime") == 0)
			malformed("ResultsByTime is not an array.");
		return;
	}
	if (!in_results(st))
		return;

	switch (st->depth)
	{
		case 2:
			malformed("A ResultsByTime entry is not an object.");
			break;
		case 3:
			if (f && strcmp(f, "Estimated") == 0)
				st->periods[st->nperiods - 1].estimated =
					(type == JSON_TOKEN_TRUE);
			break;
		case 4:
			if (strcmp(st->fields[3], "TimePeriod") == 0 && f &&
				type == JSON_TOKEN_STRING)
			{
				if (strcmp(f, "Start") == 0)
					st->periods[st->nperiods - 1].start = parse_date(token);
				else if (strcmp(f, "End") == 0)
					st->periods[st->nperiods - 1].end = parse_date(token);
			}
			break;
		case 5:
			/* Total.<metric>.{Amount,Unit} */
			if (st->ngroups == 0 && strcmp(st->fields[3], "Total") == 0 && f)
			{
				int			m = metric_index(st->fields[4]);

				if (m >= 0 && st->row && type == JSON_TOKEN_STRING)
				{
					if (strcmp(f, "Amount") == 0)
						st->row->amount[m] = token;
					else if (strcmp(f, "Unit") == 0)
						st->row->unit[m] = token;
				}
			}
			break;
		case 6:
			/* Groups[].Keys[] */
			if (st->row && st->fields[5] && strcmp(st->fields[5], "Keys") == 0)
			{
				if (type != JSON_TOKEN_STRING)
					malformed("A group key is not a string.");
				if (st->row->nkeys < MAX_GROUPS)
					st->row->keys[st->row->nkeys++] = token;
			}
			break;
		case 7:
			/* Groups[].Metrics.<metric>.{Amount,Unit} */
			if (st->row && st->fields[5] && strcmp(st->fields[5], "Metrics") == 0 &&
				f && type == JSON_TOKEN_STRING)
			{
				int			m = metric_index(st->fields[6]);

				if (m >= 0)
				{
					if (strcmp(f, "Amount") == 0)
						st->row->amount[m] = token;
					else if (strcmp(f, "Unit") == 0)
						st->row->unit[m] = token;
				}
			}
			break;
	}
}

static bool
cost_parse_page(FuScan *scan, FuRequest *req, const char *body, size_t len)
{
	CeState    *st = (CeState *) scan->pstate;
	JsonLexContext *lex;
	JsonSemAction sem;
	JsonParseErrorType rc;

	if (len > (size_t) INT_MAX)
		malformed("The response is too large.");
	/* one check of the whole page; the strings need none afterwards */
	if (!pg_verify_mbstr(PG_UTF8, body, (int) len, true))
		malformed("The response is not valid UTF-8.");

	st->rows = NULL;
	st->nrows = st->maxrows = 0;
	st->periods = NULL;
	st->nperiods = st->maxperiods = 0;
	st->next_token = NULL;
	st->cur = 0;
	st->depth = 0;
	st->row = NULL;
	st->seen_results = false;

	memset(&sem, 0, sizeof(sem));
	sem.semstate = st;
	sem.object_start = ce_object_start;
	sem.object_end = ce_object_end;
	sem.array_start = ce_array_start;
	sem.array_end = ce_array_end;
	sem.object_field_start = ce_field_start;
	sem.scalar = ce_scalar;

	lex = makeJsonLexContextCstringLen((char *) body, (int) len, PG_UTF8, true);
	rc = pg_parse_json(lex, &sem);
	if (rc != JSON_SUCCESS)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
				 errmsg("invalid JSON in response from AWS Cost Explorer GetCostAndUsage"),
				 errdetail("%s", json_errdetail(rc, lex))));
	if (!st->seen_results)
		malformed("The response has no ResultsByTime array.");

	for (int i = 0; i < st->nrows; i++)
		if (st->rows[i].nkeys != st->ngroups)
			malformed(psprintf("A group has %d keys; %d were requested.",
							   st->rows[i].nkeys, st->ngroups));

	if (st->next_token == NULL)
		return false;

	/* the next page: the identical request plus the token */
	{
		MemoryContext old = MemoryContextSwitchTo(scan->req_cxt);
		StringInfoData b;

		initStringInfo(&b);
		appendBinaryStringInfo(&b, st->base_body, strlen(st->base_body) - 1);
		appendStringInfoString(&b, ",\"NextPageToken\":");
		escape_json(&b, st->next_token);
		appendStringInfoChar(&b, '}');
		req->http.body = b.data;
		req->http.body_len = b.len;
		MemoryContextSwitchTo(old);
	}
	return true;
}

/* ---------- rows ---------- */

static Datum
text_datum(const char *s)
{
	/* the page was checked to be UTF-8 */
	if (GetDatabaseEncoding() == PG_UTF8)
		return CStringGetTextDatum(s);
	return CStringGetTextDatum(pg_any_to_server(s, strlen(s), PG_UTF8));
}

typedef struct AmountContext
{
	const char *column;
	const char *value;
} AmountContext;

static void
amount_error_callback(void *arg)
{
	AmountContext *ac = (AmountContext *) arg;

	errcontext("column \"%s\" of aws_cost, value \"%s\"", ac->column, ac->value);
}

static Datum
amount_datum(const char *s, int col)
{
	AmountContext ac;
	ErrorContextCallback cb;
	Datum		d;

	ac.column = cost_columns[col].name;
	ac.value = s;
	cb.callback = amount_error_callback;
	cb.arg = &ac;
	cb.previous = error_context_stack;
	error_context_stack = &cb;
	d = DirectFunctionCall3(numeric_in, CStringGetDatum(s),
							ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
	error_context_stack = cb.previous;
	return d;
}

static bool
cost_next_row(FuScan *scan, Datum *values, bool *nulls)
{
	CeState    *st = (CeState *) scan->pstate;
	CeRow	   *r;
	CePeriod   *p;

	if (st->cur >= st->nrows)
		return false;
	r = &st->rows[st->cur++];
	p = &st->periods[r->period];

	values[COL_PERIOD_START] = DateADTGetDatum(p->start);
	nulls[COL_PERIOD_START] = false;
	values[COL_PERIOD_END] = DateADTGetDatum(p->end);
	nulls[COL_PERIOD_END] = false;
	values[COL_ESTIMATED] = BoolGetDatum(p->estimated);
	nulls[COL_ESTIMATED] = false;

	for (int c = 0; c < NUM_COLS; c++)
		if (st->has_fixed[c])
		{
			values[c] = st->fixed[c];
			nulls[c] = false;
		}

	for (int i = 0; i < st->ngroups; i++)
	{
		int			c = st->group_cols[i];
		const char *k = r->keys[i];

		if (c == COL_TAG_VALUE)
		{
			/* "key$value"; "key$" is untagged cost */
			const char *dollar = strchr(k, '$');

			k = dollar ? dollar + 1 : k;
			if (*k == '\0')
				continue;
		}
		values[c] = text_datum(k);
		nulls[c] = false;
	}

	for (int m = 0; m < NUM_METRICS; m++)
	{
		if (r->amount[m] && bms_is_member(FIRST_METRIC + m, scan->needed))
		{
			values[FIRST_METRIC + m] = amount_datum(r->amount[m], FIRST_METRIC + m);
			nulls[FIRST_METRIC + m] = false;
		}
	}
	if (bms_is_member(COL_CURRENCY, scan->needed))
	{
		for (int m = 0; m < NUM_METRICS; m++)
			if (m != METRIC_USAGE && m != COL_NORMALIZED_USAGE_AMOUNT - FIRST_METRIC &&
				r->unit[m])
			{
				values[COL_CURRENCY] = text_datum(r->unit[m]);
				nulls[COL_CURRENCY] = false;
				break;
			}
	}
	if (r->unit[METRIC_USAGE] && bms_is_member(COL_USAGE_UNIT, scan->needed))
	{
		values[COL_USAGE_UNIT] = text_datum(r->unit[METRIC_USAGE]);
		nulls[COL_USAGE_UNIT] = false;
	}
	return true;
}

static void
cost_explain(FuScan *scan, ExplainState *es)
{
	CeState    *st = (CeState *) scan->pstate;

	if (st && (st->default_start || st->default_end) && scan->requests != NIL)
		ExplainPropertyText("Time window",
							psprintf("%s to %s (%s)",
									 date_text(st->start), date_text(st->end),
									 st->default_start && st->default_end ?
									 "default: from 12 months back to tomorrow" :
									 st->default_start ?
									 "start defaulted to 12 months back" :
									 "end defaulted to tomorrow"),
							es);
	if (scan->requests == NIL && !scan->unbound)
		ExplainPropertyText("Note", "no request is needed: the conditions exclude every row", es);
}

const FuSource fu_source_aws_cost = {
	.name = "aws_cost",
	.provider = "aws",
	.api = "AWS Cost Explorer GetCostAndUsage",
	.columns = cost_columns,
	.ncolumns = NUM_COLS,
	.call_price = 0.01,
	.classify_qual = cost_classify_qual,
	.plan = cost_plan,
	.begin = cost_begin,
	.prepare = cost_prepare,
	.check = fu_aws_check,
	.report_error = fu_aws_report_error,
	.parse_page = cost_parse_page,
	.next_row = cost_next_row,
	.explain = cost_explain,
};
