/*-------------------------------------------------------------------------
 *
 * cost.c
 *		  aws_cost: AWS Cost Explorer GetCostAndUsage as a foreign table.
 *
 * Quals become the request: date ranges the tightest TimePeriod, dimension
 * equalities and exclusions the Filter expression.  The GroupBy is the
 * table's grain (SPEC §3.1): a table declaring at most two dimensions
 * (aws_cost_by_service...) is always grouped by all of them, so its rows
 * never depend on the columns a query reads; the wide aws_cost declares
 * more than the API can group by, so it groups by the dimensions the query
 * reads.  A dimension fixed by "=" is filled from the qual instead of
 * grouped.  Amounts go straight from their decimal strings into numeric.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "aws.h"
#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

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
#define NUM_METRICS CE_NUM_METRICS
#define METRIC_USAGE (COL_USAGE_QUANTITY - FIRST_METRIC)
#define METRIC_NORMALIZED (COL_NORMALIZED_USAGE_AMOUNT - FIRST_METRIC)

static const char *const granularities[] = {"DAILY", "MONTHLY", NULL};

static const FuColumn cost_columns[NUM_COLS] = {
	{"period_start", DATEOID, FU_OPS_RANGE},
	{"period_end", DATEOID, FU_OPS_RANGE},
	{"granularity", TEXTOID, FU_OPS_SET_NEG, FU_COL_PER_VALUE, granularities},
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

/* fdw_private of the plan */
enum
{
	PlanMetricMask,				/* Integer: metrics to request */
	PlanGroupCols,				/* List of Integer: grouped dimension columns */
	PlanTagGroup				/* Integer: group by the tag_key's tag */
};

#define MAX_GROUPS CE_MAX_GROUPS

/* A group of an aggregate scan, or a row not added up yet */
typedef struct AccRow
{
	DateADT		month;			/* grouped by month: the month, else 0 */
	char	   *keys[MAX_GROUPS];
	Datum		sums[NUM_METRICS];	/* numeric; 0: none */
} AccRow;

/* Scan state */
typedef struct CeState
{
	/* from the plan and the bound quals */
	int			metric_mask;
	int			ngroups;
	int			group_cols[MAX_GROUPS];	/* column, or COL_TAG_VALUE */
	char	   *tag_key;
	const char *granularity;
	DateADT		start;
	DateADT		end;
	bool		default_start;
	bool		default_end;
	/* an aggregate scan: MONTHLY pages, summed unless grouped by month */
	bool		upper;
	bool		by_month;
	int		   *item_group;		/* per item: its GroupBy index, or -1 */
	Datum	   *item_fixed;		/* per item: a dimension's "=" value */
	int		   *item_metric;	/* per item: its metric, or -1 */
	MemoryContext acc_cxt;		/* the rows kept and their sums */
	AccRow	   *acc;			/* added up by group when compacted */
	int			nacc;
	int			maxacc;
	int			compacted;		/* groups at the last compaction */
	bool		done;			/* the last page is in: acc are the groups */
	/* what each row needs, worked out once per scan */
	int			out_metrics;	/* bit m: metric m is a needed column */
	bool		want_currency;
	bool		want_usage_unit;

	/* current page (page context) */
	CeResults	page;
	int			cur;
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
		case COL_TAG_VALUE:

			/*
			 * Cost Explorer's "" matches untagged cost, which is a NULL
			 * tag_value here: rechecked.
			 */
			return q->valtype == TEXTOID ? FU_PUSH_RECHECK : FU_PUSH_NONE;
		default:
			return q->valtype == TEXTOID ? FU_PUSH_EXACT : FU_PUSH_NONE;
	}
}

/*
 * The dimensions to group by.  The grain of a table that declares at most
 * two dimensions is all of them; the wide table's is what the query reads.
 */
static List *
grouped_dims(FuPlanInfo *pi, bool *tag_group)
{
	Bitmapset  *dims = NULL;
	List	   *groups = NIL;
	int			declared = 0;

	for (int c = FIRST_DIM; c <= LAST_DIM; c++)
		if (bms_is_member(c, pi->declared))
			declared++;
	if (bms_is_member(COL_TAG_VALUE, pi->declared))
		declared++;
	dims = declared <= MAX_GROUPS ? pi->declared : pi->needed;

	for (int c = FIRST_DIM; c <= LAST_DIM; c++)
	{
		/* a dimension fixed by "=" is filled from the qual */
		if (bms_is_member(c, dims) && fu_find_qual(pi->quals, c, FU_OP_EQ) == NULL)
			groups = lappend(groups, makeInteger(c));
	}
	*tag_group = bms_is_member(COL_TAG_VALUE, dims);
	return groups;
}

static void
refuse_groups(FuPlanInfo *pi, const char *relname, List *groups,
			  bool tag_group)
{
	StringInfoData names;
	ListCell   *lc;

	initStringInfo(&names);
	foreach(lc, groups)
		appendStringInfo(&names, "%s%s", names.len ? ", " : "",
						 cost_columns[intVal(lfirst(lc))].name);
	if (tag_group)
		appendStringInfo(&names, "%stag_value", names.len ? ", " : "");
	fu_plan_refuse(pi, ERRCODE_FEATURE_NOT_SUPPORTED,
				   psprintf("\"%s\" can group by at most two dimensions, but the query needs %d (%s)",
							relname, list_length(groups) + (tag_group ? 1 : 0),
							names.data),
				   "Cost Explorer accepts at most two GroupBy keys. A dimension fixed with \"=\" needs no grouping.",
				   "Select fewer dimension columns, fix some with \"=\", or query aws_cost_by_service, aws_cost_by_account, aws_cost_by_region or aws_cost_by_usage_type.");
}

/* The metrics to request: those read, UnblendedCost for the currency */
static int
metric_mask(FuPlanInfo *pi)
{
	int			mask = 0;

	for (int m = 0; m < NUM_METRICS; m++)
		if (bms_is_member(FIRST_METRIC + m, pi->needed))
			mask |= 1 << m;
	if (bms_is_member(COL_USAGE_UNIT, pi->needed))
		mask |= 1 << METRIC_USAGE;
	if ((mask & ~(1 << METRIC_USAGE) & ~(1 << METRIC_NORMALIZED)) == 0 &&
		(mask == 0 || bms_is_member(COL_CURRENCY, pi->needed)))
		mask |= 1;				/* UnblendedCost */
	return mask;
}

/*
 * Sums of a metric, grouped by at most two dimensions and maybe by
 * date_trunc('month', period_start), are what Cost Explorer adds up
 * itself: the scan asks for MONTHLY results when the window turns out to
 * be whole months, else for the daily rows, and adds them by group (see
 * upper_begin).  Nothing else (count, avg, min, max) can be answered from
 * monthly rows, and tags and granularity stay with the plain scan.
 */
static bool
cost_aggregates(FuPlanInfo *pi)
{
	int			ndims = 0;
	ListCell   *lc;

	foreach(lc, pi->upper)
	{
		FuUpperItem *it = (FuUpperItem *) lfirst(lc);

		if (it->kind == FU_UPPER_GROUP && it->col >= FIRST_DIM && it->col <= LAST_DIM)
			ndims++;
		else if (!(it->kind == FU_UPPER_GROUP_MONTH && it->col == COL_PERIOD_START) &&
				 !(it->kind == FU_UPPER_SUM && it->col >= FIRST_METRIC &&
				   it->col < FIRST_METRIC + NUM_METRICS))
			return false;
	}
	if (ndims > MAX_GROUPS)
		return false;
	foreach(lc, pi->quals)
	{
		FuQual	   *q = (FuQual *) lfirst(lc);

		if (q->col == COL_GRANULARITY || q->col == COL_TAG_KEY ||
			q->col == COL_TAG_VALUE)
			return false;
	}
	return true;
}

/* The plan of an aggregate path: group by its dimensions, its metrics */
static List *
cost_upper_plan(FuPlanInfo *pi)
{
	List	   *groups = NIL;
	int			mask = 0;
	double		rows = 12;
	ListCell   *lc;

	foreach(lc, pi->upper)
	{
		FuUpperItem *it = (FuUpperItem *) lfirst(lc);

		/* a dimension fixed by "=" is filled from the qual, as in a scan */
		if (it->kind == FU_UPPER_GROUP &&
			fu_find_qual(pi->quals, it->col, FU_OP_EQ) == NULL)
		{
			groups = lappend(groups, makeInteger(it->col));
			rows *= 15;
		}
		else if (it->kind == FU_UPPER_SUM)
			mask |= 1 << (it->col - FIRST_METRIC);
	}
	pi->rows = rows;
	pi->calls = 1;
	return list_make3(makeInteger(mask ? mask : 1), groups, makeInteger(0));
}

static List *
cost_plan(FuPlanInfo *pi)
{
	bool		tag_group;
	List	   *groups;
	bool		tag_key_fixed = fu_find_qual(pi->quals, COL_TAG_KEY, FU_OP_EQ) != NULL;
	const char *relname = get_rel_name(pi->table->relid);
	double		rows;
	int			ngroups;

	if (pi->upper != NIL)
		return cost_upper_plan(pi);
	groups = grouped_dims(pi, &tag_group);
	ngroups = list_length(groups) + (tag_group ? 1 : 0);
	if (ngroups > MAX_GROUPS)
		refuse_groups(pi, relname, groups, tag_group);
	if ((tag_group ||
		 fu_find_qual(pi->quals, COL_TAG_VALUE, FU_OP_EQ) ||
		 fu_find_qual(pi->quals, COL_TAG_VALUE, FU_OP_IN)) && !tag_key_fixed)
		fu_plan_refuse(pi, ERRCODE_FEATURE_NOT_SUPPORTED,
					   psprintf("\"%s\" needs tag_key = '<key>' to read or filter tag_value", relname),
					   NULL, "Add a condition such as WHERE tag_key = 'env'.");
	if (bms_is_member(COL_TAG_KEY, pi->needed) && !tag_key_fixed)
		fu_plan_refuse(pi, ERRCODE_FEATURE_NOT_SUPPORTED,
					   psprintf("\"%s\" needs tag_key = '<key>' to show tag_key", relname),
					   NULL, "Cost Explorer groups by one tag key at a time; add a condition such as WHERE tag_key = 'env'.");

	/* about 400 days by default; ~15 values per grouped dimension */
	rows = 400;
	for (int i = 0; i < ngroups; i++)
		rows *= 15;
	pi->rows = rows;
	pi->calls = 1;

	return list_make3(makeInteger(metric_mask(pi)), groups,
					  makeInteger(tag_group));
}

/* ---------- scan start ---------- */

#define GRAN_DAILY		0x01
#define GRAN_MONTHLY	0x02

/* The granularities a bound qual on granularity lets through */
static int
granularity_mask(FuQual *q)
{
	ListCell   *lc;
	int			mask = 0;

	/* values are valid: the engine checked them against the closed set */
	foreach(lc, fu_qual_strings(q))
		mask |= strcmp((char *) lfirst(lc), "DAILY") == 0 ? GRAN_DAILY : GRAN_MONTHLY;
	if (q->op == FU_OP_NE || q->op == FU_OP_NOT_IN)
		mask = (GRAN_DAILY | GRAN_MONTHLY) & ~mask;
	return mask;
}

/*
 * The granularity the quals ask for: one request reads one, DAILY unless
 * the quals say; NULL when they exclude both.
 */
static const char *
choose_granularity(FuScan *scan)
{
	ListCell   *lc;
	int			granularities = GRAN_DAILY | GRAN_MONTHLY;
	bool		constrained = false;

	foreach(lc, scan->quals)
	{
		FuQual	   *q = (FuQual *) lfirst(lc);

		if (q->col == COL_GRANULARITY && q->known)
		{
			granularities &= granularity_mask(q);
			constrained = true;
		}
	}
	if (granularities == 0)
		return NULL;
	if (!constrained || granularities == GRAN_DAILY)
		return "DAILY";
	if (granularities == GRAN_MONTHLY)
		return "MONTHLY";
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("\"%s\" reads one granularity at a time",
					RelationGetRelationName(scan->rel)),
			 errhint("Query DAILY and MONTHLY rows separately and combine them with UNION ALL.")));
	return NULL;				/* keep compiler quiet */
}

/*
 * The dimension and tag quals: Filter leaves, and values fixed by "=";
 * the period quals narrow [lo, hi).
 */
static List *
filter_leaves(FuScan *scan, CeState *st, bool monthly, DateADT *lo,
			  DateADT *hi)
{
	List	   *leaves = NIL;
	ListCell   *lc;

	foreach(lc, scan->quals)
	{
		FuQual	   *q = (FuQual *) lfirst(lc);

		if (!q->known)
			continue;
		if (q->col == COL_PERIOD_START || q->col == COL_PERIOD_END)
			fu_narrow_window(q, q->col == COL_PERIOD_END, monthly, lo, hi);
		else if (q->col == COL_TAG_VALUE)
		{
			/* the key is unknown only under EXPLAIN with parameters */
			if (st->tag_key)
				fu_ce_add_leaf(&leaves, "Tags", st->tag_key, q);
		}
		else if (q->col >= FIRST_DIM && q->col <= LAST_DIM)
		{
			if (q->op == FU_OP_EQ)
				fu_scan_fix(scan, q->col, q->value);
			fu_ce_add_leaf(&leaves, "Dimensions", dim_keys[q->col - FIRST_DIM], q);
		}
	}
	return leaves;
}

/*
 * The TimePeriod: the quals' window, the defaults where unbounded (what
 * Cost Explorer keeps, up to tomorrow), whole months for MONTHLY.  False
 * when it is empty.
 */
static bool
time_period(CeState *st, bool monthly, DateADT lo, DateADT hi)
{
	DateADT		today = fu_today_date();

	/* unbounded sides (no qual, or an infinite one) get the defaults */
	st->default_start = (lo == DATEVAL_NOBEGIN);
	st->default_end = (hi == DATEVAL_NOEND);
	if (st->default_start)
		lo = fu_add_months(fu_month_floor(today), -12);
	/* nothing exists after today */
	hi = Min(hi, today + 1);
	if (monthly)
	{
		lo = fu_month_ceil(lo);
		hi = fu_month_ceil(hi);
	}
	st->start = lo;
	st->end = hi;
	return lo < hi;
}

/* The GetCostAndUsage body */
static char *
request_body(CeState *st, List *leaves)
{
	StringInfoData body;

	initStringInfo(&body);
	appendStringInfo(&body, "{\"TimePeriod\":{\"Start\":\"%s\",\"End\":\"%s\"},\"Granularity\":\"%s\"",
					 fu_date_text(st->start), fu_date_text(st->end), st->granularity);
	fu_ce_append_filter(&body, leaves);
	fu_ce_append_metrics(&body, st->metric_mask);
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
	return body.data;
}

/* An aggregate scan: where each item's value comes from */
static void
upper_begin(FuScan *scan, CeState *st)
{
	ListCell   *lc;
	int			n = list_length(scan->upper);

	st->upper = true;
	st->item_group = palloc(sizeof(int) * n);
	st->item_fixed = palloc0(sizeof(Datum) * n);
	st->item_metric = palloc(sizeof(int) * n);
	foreach(lc, scan->upper)
	{
		FuUpperItem *it = (FuUpperItem *) lfirst(lc);
		int			i = foreach_current_index(lc);

		st->item_group[i] = -1;
		st->item_metric[i] = -1;
		if (it->kind == FU_UPPER_GROUP)
		{
			FuQual	   *q = fu_find_qual(scan->quals, it->col, FU_OP_EQ);

			for (int g = 0; g < st->ngroups; g++)
				if (st->group_cols[g] == it->col)
					st->item_group[i] = g;
			if (st->item_group[i] < 0 && q && q->known && !q->isnull)
				st->item_fixed[i] = q->value;
		}
		if (it->kind == FU_UPPER_SUM)
		{
			st->item_metric[i] = it->col - FIRST_METRIC;
			st->out_metrics |= 1 << st->item_metric[i];
		}
		if (it->kind == FU_UPPER_GROUP_MONTH)
			st->by_month = true;
	}
}

static void
cost_begin(FuScan *scan)
{
	CeState    *st = palloc0(sizeof(CeState));
	List	   *pp = scan->plan_private;
	ListCell   *lc;
	DateADT		lo = DATEVAL_NOBEGIN;
	DateADT		hi = DATEVAL_NOEND;
	List	   *leaves;
	bool		monthly;

	scan->pstate = st;
	st->metric_mask = intVal(list_nth(pp, PlanMetricMask));
	/* a plan with more groups was refused */
	Assert(list_length((List *) list_nth(pp, PlanGroupCols)) <= MAX_GROUPS);
	foreach(lc, (List *) list_nth(pp, PlanGroupCols))
		st->group_cols[st->ngroups++] = intVal(lfirst(lc));
	if (intVal(list_nth(pp, PlanTagGroup)) != 0 && st->ngroups < MAX_GROUPS)
		st->group_cols[st->ngroups++] = COL_TAG_VALUE;
	foreach(lc, scan->quals)
	{
		FuQual	   *q = (FuQual *) lfirst(lc);

		if (q->col == COL_TAG_KEY && q->known && !q->placeholder)
		{
			/* no row has two tag keys */
			if (st->tag_key && strcmp(st->tag_key, fu_qual_text(q->value)) != 0)
				return;
			st->tag_key = fu_qual_text(q->value);
			fu_scan_fix(scan, COL_TAG_KEY, q->value);
		}
	}

	if (scan->upper != NIL)
	{
		upper_begin(scan, st);
		/* the quals are about daily rows */
		leaves = filter_leaves(scan, st, false, &lo, &hi);
		/* whole months (an open side is: the defaults are) add up monthly */
		monthly = (lo == DATEVAL_NOBEGIN || fu_month_floor(lo) == lo) &&
			(hi == DATEVAL_NOEND || fu_month_floor(hi) == hi);
		st->granularity = monthly ? "MONTHLY" : "DAILY";
		if (time_period(st, monthly, lo, hi))
			fu_ce_request(scan, "GetCostAndUsage", request_body(st, leaves));
		return;
	}
	st->granularity = choose_granularity(scan);
	if (st->granularity == NULL)
		return;
	monthly = strcmp(st->granularity, "MONTHLY") == 0;
	fu_scan_fix(scan, COL_GRANULARITY, CStringGetTextDatum(st->granularity));
	leaves = filter_leaves(scan, st, monthly, &lo, &hi);

	/* what every row needs, worked out once */
	for (int m = 0; m < NUM_METRICS; m++)
		if (bms_is_member(FIRST_METRIC + m, scan->needed))
			st->out_metrics |= 1 << m;
	st->want_currency = bms_is_member(COL_CURRENCY, scan->needed);
	st->want_usage_unit = bms_is_member(COL_USAGE_UNIT, scan->needed);

	if (!time_period(st, monthly, lo, hi))
		return;					/* empty window: no call at all */
	fu_ce_request(scan, "GetCostAndUsage", request_body(st, leaves));
}


/* Groups are compared by month (0 when not grouped by it), then keys */
static int
group_cmp(const void *a, const void *b, void *arg)
{
	const AccRow *x = (const AccRow *) a;
	const AccRow *y = (const AccRow *) b;
	int			nkeys = *(int *) arg;

	if (x->month != y->month)
		return x->month < y->month ? -1 : 1;
	for (int i = 0; i < nkeys; i++)
	{
		int			c = strcmp(x->keys[i], y->keys[i]);

		if (c != 0)
			return c;
	}
	return 0;
}

/*
 * Add up the rows kept so far by group, into a new context: what the
 * earlier pages' rows took is given back, so memory follows the number of
 * groups, not of rows.
 */
static void
compact(FuScan *scan, CeState *st)
{
	MemoryContext cxt = AllocSetContextCreate(scan->req_cxt, "finops_usage sums",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	AccRow	   *out = palloc(sizeof(AccRow) * Max(st->nacc, 1));
	int			n = 0;

	if (st->nacc > 1)
		qsort_arg(st->acc, st->nacc, sizeof(AccRow), group_cmp, &st->ngroups);
	for (int r = 0; r < st->nacc; r++)
	{
		AccRow	   *row = &st->acc[r];
		AccRow	   *dst;

		if (n > 0 && group_cmp(&out[n - 1], row, &st->ngroups) == 0)
		{
			dst = &out[n - 1];
			for (int m = 0; m < NUM_METRICS; m++)
				if (row->sums[m] && dst->sums[m])
					dst->sums[m] = DirectFunctionCall2(numeric_add, dst->sums[m],
													   row->sums[m]);
				else if (row->sums[m])
					dst->sums[m] = datumCopy(row->sums[m], false, -1);
			continue;
		}
		dst = &out[n++];
		dst->month = row->month;
		for (int k = 0; k < st->ngroups; k++)
			dst->keys[k] = pstrdup(row->keys[k]);
		for (int m = 0; m < NUM_METRICS; m++)
			dst->sums[m] = row->sums[m] ? datumCopy(row->sums[m], false, -1) : (Datum) 0;
	}
	MemoryContextSwitchTo(old);
	if (st->acc_cxt)
		MemoryContextDelete(st->acc_cxt);
	st->acc_cxt = cxt;
	st->acc = out;
	st->nacc = st->maxacc = n;
	st->compacted = n;
}

/*
 * Sums by group (and month) over the pages: each page's rows are kept as
 * numbers, and added up by group whenever they outnumber the groups, and
 * after the last page.
 */
static void
accumulate(FuScan *scan, CeState *st, bool last)
{
	MemoryContext old;

	/* a rescan replays the pages from the first */
	if (scan->page_index == 0 && st->acc_cxt)
	{
		MemoryContextDelete(st->acc_cxt);
		st->acc_cxt = NULL;
		st->acc = NULL;
		st->nacc = st->maxacc = st->compacted = 0;
	}
	if (st->acc_cxt == NULL)
		st->acc_cxt = AllocSetContextCreate(scan->req_cxt, "finops_usage sums",
											ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(st->acc_cxt);
	for (int r = 0; r < st->page.nrows; r++)
	{
		CeRow	   *src = &st->page.rows[r];
		AccRow	   *dst;

		if (st->nacc >= st->maxacc)
		{
			st->maxacc = Max(64, st->maxacc * 2);
			st->acc = st->acc ? repalloc(st->acc, sizeof(AccRow) * st->maxacc) :
				palloc(sizeof(AccRow) * st->maxacc);
		}
		dst = &st->acc[st->nacc++];
		/* grouped by month or not at all: 0 puts every row in one */
		dst->month = st->by_month ?
			fu_month_floor(st->page.periods[src->period].tp.start) : 0;
		for (int k = 0; k < st->ngroups; k++)
			dst->keys[k] = pstrdup(src->keys[k]);
		for (int m = 0; m < NUM_METRICS; m++)
			dst->sums[m] = (src->amount[m] && (st->out_metrics & (1 << m))) ?
				fu_numeric_datum(src->amount[m], cost_columns[FIRST_METRIC + m].name) :
				(Datum) 0;
	}
	MemoryContextSwitchTo(old);

	/* this page's rows are not the answer: the groups are, at the end */
	st->page.nrows = 0;
	st->cur = 0;
	if (last || st->nacc > 2 * st->compacted + 10000)
		compact(scan, st);
	st->done = last;
}

static void
cost_parse_page(FuScan *scan, FuRequest *req, char *body, size_t len)
{
	CeState    *st = (CeState *) scan->pstate;

	st->page.ngroups = st->ngroups;
	fu_ce_parse_results(req, body, len, &st->page);
	st->cur = 0;
	if (st->upper)
		accumulate(scan, st, st->page.next_token == NULL);
}

/* ---------- rows ---------- */

/* A row of an aggregate scan: values by item */
static bool
upper_next_row(FuScan *scan, CeState *st, Datum *values, bool *nulls)
{
	AccRow	   *r;
	ListCell   *lc;

	if (!st->done || st->cur >= st->nacc)
		return false;
	r = &st->acc[st->cur];
	foreach(lc, scan->upper)
	{
		FuUpperItem *it = (FuUpperItem *) lfirst(lc);
		int			i = foreach_current_index(lc);
		int			m = st->item_metric[i];

		nulls[i] = true;
		if (it->kind == FU_UPPER_GROUP_MONTH)
			values[i] = DateADTGetDatum(r->month);
		else if (it->kind == FU_UPPER_GROUP && st->item_group[i] >= 0)
			values[i] = fu_text_datum(r->keys[st->item_group[i]]);
		else if (it->kind == FU_UPPER_GROUP && st->item_fixed[i])
			values[i] = st->item_fixed[i];
		else if (m >= 0 && r->sums[m])
			values[i] = r->sums[m];
		else
			continue;
		nulls[i] = false;
	}
	st->cur++;
	return true;
}

static bool
cost_next_row(FuScan *scan, Datum *values, bool *nulls)
{
	CeState    *st = (CeState *) scan->pstate;
	CeRow	   *r;
	CePeriod   *p;

	if (st->upper)
		return upper_next_row(scan, st, values, nulls);
	if (st->cur >= st->page.nrows)
		return false;
	r = &st->page.rows[st->cur++];
	p = &st->page.periods[r->period];

	values[COL_PERIOD_START] = DateADTGetDatum(p->tp.start);
	nulls[COL_PERIOD_START] = false;
	values[COL_PERIOD_END] = DateADTGetDatum(p->tp.end);
	nulls[COL_PERIOD_END] = false;
	values[COL_ESTIMATED] = BoolGetDatum(p->estimated);
	nulls[COL_ESTIMATED] = false;

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
			if (m != METRIC_USAGE && m != METRIC_NORMALIZED && r->unit[m])
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
	.api = "AWS Cost Explorer GetCostAndUsage",
	.columns = cost_columns,
	.ncolumns = NUM_COLS,
	.paged = true,
	.call_price = 0.01,
	.classify_qual = cost_classify_qual,
	.plan = cost_plan,
	.aggregates = cost_aggregates,
	.begin = cost_begin,
	.parse_page = cost_parse_page,
	.next_row = cost_next_row,
	.explain = cost_explain,
};
