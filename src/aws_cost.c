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
#include "aws.h"
#include "finops_usage.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
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
	{"granularity", TEXTOID, FU_OPS_SET_NEG},
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
	Datum		fixed[NUM_COLS];	/* values filled from "=" quals */
	bool		has_fixed[NUM_COLS];
	/* what each row needs, worked out once per scan */
	int			nfixed;
	int			fixed_cols[NUM_COLS];
	int			out_metrics;	/* bit m: metric m is a needed column */
	bool		want_currency;
	bool		want_usage_unit;

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
	CeRow	   *row;			/* row being filled */
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
	const char *relname = get_rel_name(pi->table->relid);

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
	/*
	 * Every row has the one granularity asked for: a comparison on it that
	 * is not pushed could only keep them all or drop them all.
	 */
	if (fu_has_qual_on(pi->unpushed, COL_GRANULARITY) &&
		!fu_has_qual_on(pi->quals, COL_GRANULARITY))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("\"%s\" can filter granularity only with =, IN, <> or NOT IN", relname),
				 errhint("Write granularity = 'DAILY' or granularity = 'MONTHLY'.")));

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
				 errmsg("\"%s\" can group by at most two dimensions, but the query needs %d (%s)",
						relname, ngroups, names.data),
				 errdetail("Cost Explorer accepts at most two GroupBy keys. A dimension fixed with \"=\" needs no grouping."),
				 errhint("Select fewer dimension columns, fix some with \"=\", or query aws_cost_by_service, aws_cost_by_account, aws_cost_by_region or aws_cost_by_usage_type.")));
	}

	if ((bms_is_member(COL_TAG_VALUE, pi->needed) ||
		 fu_find_qual(pi->quals, COL_TAG_VALUE, FU_OP_EQ) ||
		 fu_find_qual(pi->quals, COL_TAG_VALUE, FU_OP_IN)) && !tag_key_fixed)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("\"%s\" needs tag_key = '<key>' to read or filter tag_value", relname),
				 errhint("Add a condition such as WHERE tag_key = 'env'.")));
	if (bms_is_member(COL_TAG_KEY, pi->needed) && !tag_key_fixed)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("\"%s\" needs tag_key = '<key>' to show tag_key", relname),
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

#define GRAN_DAILY		0x01
#define GRAN_MONTHLY	0x02
#define GRAN_OTHER		0x04	/* a value Cost Explorer has no rows for */

static int
granularity_bit(Datum d)
{
	char	   *g = fu_qual_text(d);

	if (strcmp(g, "DAILY") == 0)
		return GRAN_DAILY;
	if (strcmp(g, "MONTHLY") == 0)
		return GRAN_MONTHLY;
	if (strcmp(g, "HOURLY") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("aws_cost has no HOURLY granularity"),
				 errhint("Use DAILY or MONTHLY.")));
	return GRAN_OTHER;
}

/* The granularities a bound qual on granularity lets through */
static int
granularity_mask(FuQual *q)
{
	int			mask = 0;

	switch (q->op)
	{
		case FU_OP_EQ:
			return granularity_bit(q->value);
		case FU_OP_NE:
			return (GRAN_DAILY | GRAN_MONTHLY) & ~granularity_bit(q->value);
		case FU_OP_IN:
			for (int i = 0; i < q->nelems; i++)
				if (!q->elemnulls[i])
					mask |= granularity_bit(q->elems[i]);
			return mask & (GRAN_DAILY | GRAN_MONTHLY);
		case FU_OP_NOT_IN:
			mask = GRAN_DAILY | GRAN_MONTHLY;
			for (int i = 0; i < q->nelems; i++)
				mask &= ~granularity_bit(q->elems[i]);
			return mask;
		default:
			return GRAN_DAILY | GRAN_MONTHLY;
	}
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
	int			granularities = GRAN_DAILY | GRAN_MONTHLY;
	bool		gran_constrained = false;
	StringInfoData body;

	scan->pstate = st;
	st->metric_mask = intVal(list_nth(pp, PlanMetricMask));
	foreach(lc, (List *) list_nth(pp, PlanGroupCols))
		st->group_cols[st->ngroups++] = intVal(lfirst(lc));
	st->tag_group = intVal(list_nth(pp, PlanTagGroup)) != 0;
	if (st->tag_group)
		st->group_cols[st->ngroups++] = COL_TAG_VALUE;


	foreach(lc, scan->quals)
	{
		FuQual	   *q = (FuQual *) lfirst(lc);

		if (q->col == COL_GRANULARITY && q->known)
		{
			granularities &= granularity_mask(q);
			gran_constrained = true;
		}
		else if (q->col == COL_TAG_KEY && q->known)
		{
			st->tag_key = fu_qual_text(q->value);
			st->fixed[COL_TAG_KEY] = q->value;
			st->has_fixed[COL_TAG_KEY] = true;
		}
	}
	/* one request reads one granularity: DAILY unless the quals say */
	if (granularities == 0)
		return;
	if (!gran_constrained)
		granularities = GRAN_DAILY;
	else if (granularities != GRAN_DAILY && granularities != GRAN_MONTHLY)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("\"%s\" reads one granularity at a time",
						RelationGetRelationName(scan->rel)),
				 errhint("Query DAILY and MONTHLY rows separately and combine them with UNION ALL.")));
	monthly = (granularities == GRAN_MONTHLY);
	st->granularity = monthly ? "MONTHLY" : "DAILY";
	st->fixed[COL_GRANULARITY] = CStringGetTextDatum(st->granularity);
	st->has_fixed[COL_GRANULARITY] = true;

	foreach(lc, scan->quals)
	{
		FuQual	   *q = (FuQual *) lfirst(lc);

		if (!q->known)
			continue;
		if (q->col == COL_PERIOD_START || q->col == COL_PERIOD_END)
		{
			fu_narrow_window(q, q->col == COL_PERIOD_END, monthly, &lo, &hi);
			continue;
		}
		if (q->col < FIRST_DIM || (q->col > LAST_DIM && q->col != COL_TAG_VALUE))
			continue;
		if (q->op == FU_OP_EQ && q->col != COL_TAG_VALUE)
		{
			st->fixed[q->col] = q->value;
			st->has_fixed[q->col] = true;
		}
		if (q->col == COL_TAG_VALUE)
		{
			/* the key is unknown only under EXPLAIN with parameters */
			if (st->tag_key)
				fu_ce_add_leaf(&leaves, "Tags", st->tag_key, q);
		}
		else
			fu_ce_add_leaf(&leaves, "Dimensions", dim_keys[q->col - FIRST_DIM], q);
	}

	/* what every row needs, worked out once */
	for (int c = 0; c < NUM_COLS; c++)
		if (st->has_fixed[c])
			st->fixed_cols[st->nfixed++] = c;
	for (int m = 0; m < NUM_METRICS; m++)
		if (bms_is_member(FIRST_METRIC + m, scan->needed))
			st->out_metrics |= 1 << m;
	st->want_currency = bms_is_member(COL_CURRENCY, scan->needed);
	st->want_usage_unit = bms_is_member(COL_USAGE_UNIT, scan->needed);

	/* unbounded sides (no qual, or an infinite one) get the defaults */
	has_lo = (lo != DATEVAL_NOBEGIN);
	has_hi = (hi != DATEVAL_NOEND);

	/* defaults: what Cost Explorer keeps, up to tomorrow */
	if (!has_lo)
		lo = Max(lo, fu_add_months(fu_month_floor(today), -12));
	if (!has_hi)
		hi = Min(hi, today + 1);
	st->default_start = !has_lo;
	st->default_end = !has_hi;
	/* nothing exists after today */
	hi = Min(hi, today + 1);
	if (monthly)
	{
		lo = fu_month_ceil(lo);
		hi = fu_month_ceil(hi);
	}
	if (lo >= hi)
		return;					/* empty window: no call at all */
	st->start = lo;
	st->end = hi;

	initStringInfo(&body);
	appendStringInfo(&body, "{\"TimePeriod\":{\"Start\":\"%s\",\"End\":\"%s\"},\"Granularity\":\"%s\"",
					 fu_date_text(lo), fu_date_text(hi), st->granularity);
	fu_ce_append_filter(&body, leaves);
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

	fu_add_request(scan, "AWS Cost Explorer GetCostAndUsage", "POST",
				   fu_ce_url(scan), body.data);
}

static void
cost_prepare(FuScan *scan, FuRequest *req)
{
	fu_ce_prepare(scan, req, "GetCostAndUsage");
}

/* ---------- page parsing ---------- */

/* the JSON field names the page handlers look for */
enum
{
	F_UnblendedCost,
	F_BlendedCost,
	F_AmortizedCost,
	F_NetUnblendedCost,
	F_NetAmortizedCost,
	F_UsageQuantity,
	F_NormalizedUsageAmount,
	F_ResultsByTime,
	F_Groups,
	F_Amount,
	F_Unit,
	F_NextPageToken,
	F_Estimated,
	F_TimePeriod,
	F_Start,
	F_End,
	F_Total,
	F_Keys,
	F_Metrics,
};

static const char *const ce_names[] = {
	"UnblendedCost",
	"BlendedCost",
	"AmortizedCost",
	"NetUnblendedCost",
	"NetAmortizedCost",
	"UsageQuantity",
	"NormalizedUsageAmount",
	"ResultsByTime",
	"Groups",
	"Amount",
	"Unit",
	"NextPageToken",
	"Estimated",
	"TimePeriod",
	"Start",
	"End",
	"Total",
	"Keys",
	"Metrics",
	NULL
};


/*
 * {"NextPageToken", "ResultsByTime": [{"TimePeriod": {"Start", "End"},
 *   "Total": {metric: {"Amount", "Unit"}},
 *   "Groups": [{"Keys": [...], "Metrics": {metric: {"Amount", "Unit"}}}],
 *   "Estimated"}]}
 * Levels: 1 the document, 2 ResultsByTime, 3 a ResultByTime, 4 its members.
 */

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

static void
ce_object_start(void *arg, FuJsonWalk *w)
{
	CeState    *st = (CeState *) arg;

	if (!fu_walk_at(w, 1, F_ResultsByTime))
		return;
	if (w->depth == 3)
	{
		if (st->nperiods == st->maxperiods)
		{
			st->maxperiods = st->maxperiods ? st->maxperiods * 2 : 64;
			st->periods = st->periods ?
				repalloc(st->periods, sizeof(CePeriod) * st->maxperiods) :
				palloc(sizeof(CePeriod) * st->maxperiods);
		}
		memset(&st->periods[st->nperiods], 0, sizeof(CePeriod));
		st->periods[st->nperiods].start = DATEVAL_NOBEGIN;
		st->periods[st->nperiods].end = DATEVAL_NOBEGIN;
		st->nperiods++;
		st->row = NULL;
		/* without GroupBy the row is the period's Total */
		if (st->ngroups == 0)
			st->row = new_row(st);
	}
	else if (w->depth == 5 && st->ngroups > 0 && fu_walk_at(w, 3, F_Groups))
		st->row = new_row(st);
}

static void
ce_object_end(void *arg, FuJsonWalk *w)
{
	CeState    *st = (CeState *) arg;

	if (w->depth == 3 && fu_walk_at(w, 1, F_ResultsByTime) &&
		(st->periods[st->nperiods - 1].start == DATEVAL_NOBEGIN ||
		 st->periods[st->nperiods - 1].end == DATEVAL_NOBEGIN))
		fu_walk_malformed(w, "A ResultsByTime entry has no complete TimePeriod.");
}

/* The metric whose object level depth is in, or -1 */
static int
metric_at(FuJsonWalk *w, int depth)
{
	int			code;

	if (depth > w->depth || w->arrays[depth])
		return -1;
	code = w->codes[depth];
	/* the metric names come first in ce_names, in metric_names order */
	return (code >= 0 && code < NUM_METRICS) ? code : -1;
}

/* Amount or Unit of metric m of the row */
static void
metric_member(FuJsonWalk *w, CeRow *row, int m, char *token, int type)
{
	if (m < 0 || row == NULL)
		return;
	if (fu_walk_at(w, w->depth, F_Amount))
	{
		if (type != JSON_TOKEN_STRING)
			fu_walk_malformed(w, "An Amount is not a decimal string.");
		row->amount[m] = token;
	}
	else if (fu_walk_at(w, w->depth, F_Unit) && type == JSON_TOKEN_STRING)
		row->unit[m] = token;
}

static void
ce_scalar(void *arg, FuJsonWalk *w, char *token, int type)
{
	CeState    *st = (CeState *) arg;
	CePeriod   *p;

	if (w->depth == 1)
	{
		if (fu_walk_at(w, 1, F_NextPageToken) && type == JSON_TOKEN_STRING)
			st->next_token = token;
		return;
	}
	if (!fu_walk_at(w, 1, F_ResultsByTime))
		return;

	/* levels 2 and 3 are the list and an entry: the scanner checked */
	p = &st->periods[st->nperiods - 1];
	if (w->depth == 3 && fu_walk_at(w, 3, F_Estimated))
		p->estimated = (type == JSON_TOKEN_TRUE);
	else if (w->depth == 4 && fu_walk_at(w, 3, F_TimePeriod) &&
			 type == JSON_TOKEN_STRING)
	{
		if (fu_walk_at(w, 4, F_Start))
			p->start = fu_ce_date(w, token);
		else if (fu_walk_at(w, 4, F_End))
			p->end = fu_ce_date(w, token);
	}
	else if (w->depth == 5 && st->ngroups == 0 && fu_walk_at(w, 3, F_Total))
		metric_member(w, st->row, metric_at(w, 4),
					  token, type);
	else if (w->depth == 6 && st->row && fu_walk_at(w, 3, F_Groups) &&
			 fu_walk_at(w, 5, F_Keys))
	{
		if (type != JSON_TOKEN_STRING)
			fu_walk_malformed(w, "A group key is not a string.");
		if (st->row->nkeys < MAX_GROUPS)
			st->row->keys[st->row->nkeys++] = token;
	}
	else if (w->depth == 7 && fu_walk_at(w, 3, F_Groups) &&
			 fu_walk_at(w, 5, F_Metrics))
		metric_member(w, st->row, metric_at(w, 6),
					  token, type);
}

static const FuJsonHandlers ce_handlers = {
	.names = ce_names,
	.list = "ResultsByTime",
	.object_start = ce_object_start,
	.object_end = ce_object_end,
	.scalar = ce_scalar,
};

static bool
cost_parse_page(FuScan *scan, FuRequest *req, char *body, size_t len)
{
	CeState    *st = (CeState *) scan->pstate;

	st->rows = NULL;
	st->nrows = st->maxrows = 0;
	st->periods = NULL;
	st->nperiods = st->maxperiods = 0;
	st->next_token = NULL;
	st->cur = 0;
	st->row = NULL;

	fu_parse_json_events(req->label, body, len, &ce_handlers, st);
	for (int i = 0; i < st->nrows; i++)
		if (st->rows[i].nkeys != st->ngroups)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
					 errmsg("malformed response from %s", req->label),
					 errdetail("A group has %d keys; %d were requested.",
							   st->rows[i].nkeys, st->ngroups)));

	if (st->next_token == NULL)
		return false;
	fu_next_page_body(req, "NextPageToken", st->next_token);
	return true;
}

/* ---------- rows ---------- */

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

	for (int i = 0; i < st->nfixed; i++)
	{
		values[st->fixed_cols[i]] = st->fixed[st->fixed_cols[i]];
		nulls[st->fixed_cols[i]] = false;
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
		values[c] = fu_text_datum(k);
		nulls[c] = false;
	}

	for (int m = 0; m < NUM_METRICS; m++)
	{
		if (r->amount[m] && (st->out_metrics & (1 << m)))
		{
			values[FIRST_METRIC + m] = fu_numeric_datum(r->amount[m], cost_columns[FIRST_METRIC + m].name);
			nulls[FIRST_METRIC + m] = false;
		}
	}
	if (st->want_currency)
	{
		for (int m = 0; m < NUM_METRICS; m++)
			if (m != METRIC_USAGE && m != COL_NORMALIZED_USAGE_AMOUNT - FIRST_METRIC &&
				r->unit[m])
			{
				values[COL_CURRENCY] = fu_text_datum(r->unit[m]);
				nulls[COL_CURRENCY] = false;
				break;
			}
	}
	if (r->unit[METRIC_USAGE] && st->want_usage_unit)
	{
		values[COL_USAGE_UNIT] = fu_text_datum(r->unit[METRIC_USAGE]);
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
									 fu_date_text(st->start), fu_date_text(st->end),
									 st->default_start && st->default_end ?
									 "default: from 12 months back to tomorrow" :
									 st->default_start ?
									 "start defaulted to 12 months back" :
									 "end defaulted to tomorrow"),
							es);
}

const FuSource fu_source_aws_cost = {
	.name = "aws_cost",
	.provider = "aws",
	.api = "AWS Cost Explorer GetCostAndUsage",
	.columns = cost_columns,
	.ncolumns = NUM_COLS,
	.paged = true,
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
