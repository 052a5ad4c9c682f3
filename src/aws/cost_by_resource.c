/*-------------------------------------------------------------------------
 *
 * cost_by_resource.c
 *		  aws_cost_by_resource: AWS Cost Explorer
 *		  GetCostAndUsageWithResources as a foreign table.
 *
 * The grain is fixed: one row per period, resource and region (GroupBy
 * RESOURCE_ID and REGION; a resource lives in one region, so a row is one
 * resource's cost of one period), whatever columns a query reads.  The API
 * requires a Filter naming the SERVICE (resource-level data is kept for
 * "Amazon Elastic Compute Cloud - Compute"), and can group by only one more
 * dimension: service, linked_account and usage_type are therefore filters
 * whose values the rows carry, one request per combination of values (IN
 * lists and joins send several); without a qual usage_type and
 * linked_account are NULL (all of them) and service is the EC2 default.
 * resource_id and region quals become Filter leaves.  Cost Explorer keeps
 * resource-level data for the last 14 days only: an older window is an
 * ERROR before anything is sent.  The answer has GetCostAndUsage's shape,
 * parsed by ce_results.c.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "aws.h"
#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/rel.h"

enum
{
	COL_PERIOD_START,
	COL_PERIOD_END,
	COL_GRANULARITY,
	COL_RESOURCE_ID,
	COL_REGION,
	COL_SERVICE,
	COL_LINKED_ACCOUNT,
	COL_USAGE_TYPE,
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

/* the filter columns whose values the rows carry, and their keys */
#define FIRST_FILTER	COL_SERVICE
#define NUM_FILTERS		CE_NUM_FILTERS
static const char *const filter_keys[NUM_FILTERS] = {"SERVICE", "LINKED_ACCOUNT", "USAGE_TYPE"};

#define FIRST_METRIC	COL_UNBLENDED_COST
#define METRIC_USAGE	(COL_USAGE_QUANTITY - FIRST_METRIC)
#define METRIC_NORMALIZED (COL_NORMALIZED_USAGE_AMOUNT - FIRST_METRIC)

/* what the API requires in the Filter when a query names no service */
#define DEFAULT_SERVICE "Amazon Elastic Compute Cloud - Compute"

/* the data Cost Explorer keeps at resource level, in days before today */
#define RESOURCE_DAYS	14

static const char *const granularities[] = {"DAILY", "HOURLY", NULL};

static const FuColumn resource_columns[NUM_COLS] = {
	{"period_start", DATEOID, FU_OPS_RANGE},
	{"period_end", DATEOID, FU_OPS_RANGE},
	{"granularity", TEXTOID, FU_OPS_EQ, FU_COL_PER_VALUE, granularities},
	{"resource_id", TEXTOID, FU_OPS_SET},
	{"region", TEXTOID, FU_OPS_SET},
	{"service", TEXTOID, FU_OPS_SET, FU_COL_PER_VALUE},
	{"linked_account", TEXTOID, FU_OPS_SET, FU_COL_PER_VALUE},
	{"usage_type", TEXTOID, FU_OPS_SET, FU_COL_PER_VALUE},
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

/* The filter values of one request, which its rows carry */
typedef struct ResState
{
	int			metric_mask;
	bool		hourly;
	DateADT		start;
	DateADT		end;
	bool		default_start;
	List	   *leaves;			/* resource_id and region leaves */
	int			out_metrics;	/* bit m: metric m is a needed column */
	bool		want_currency;
	bool		want_usage_unit;

	/* current page */
	CeFilter  *filter;
	CeResults	page;
	int			cur;
} ResState;

/* ---------- planning ---------- */

static FuPushdown
resource_classify_qual(const FuSource *src, const FuQual *q)
{
	switch (q->col)
	{
		case COL_PERIOD_START:
			if (q->valtype == DATEOID)
				return FU_PUSH_EXACT;
			if (q->valtype == TIMESTAMPTZOID || q->valtype == TIMESTAMPOID)
				return FU_PUSH_RECHECK;
			return FU_PUSH_NONE;
		case COL_PERIOD_END:
			/* an hour's end can fall on the next day: rechecked */
			if (q->valtype == DATEOID || q->valtype == TIMESTAMPTZOID ||
				q->valtype == TIMESTAMPOID)
				return FU_PUSH_RECHECK;
			return FU_PUSH_NONE;
		default:
			return q->valtype == TEXTOID ? FU_PUSH_EXACT : FU_PUSH_NONE;
	}
}

/* The metrics to request: those read, UnblendedCost for the currency */
static int
metric_mask(Bitmapset *needed)
{
	int			mask = 0;

	for (int m = 0; m < CE_NUM_METRICS; m++)
		if (bms_is_member(FIRST_METRIC + m, needed))
			mask |= 1 << m;
	if (bms_is_member(COL_USAGE_UNIT, needed))
		mask |= 1 << METRIC_USAGE;
	if ((mask & ~(1 << METRIC_USAGE) & ~(1 << METRIC_NORMALIZED)) == 0 &&
		(mask == 0 || bms_is_member(COL_CURRENCY, needed)))
		mask |= 1;				/* UnblendedCost */
	return mask;
}

static List *
resource_plan(FuPlanInfo *pi)
{
	ListCell   *lc;

	/* 15 days of some 50 resources; a request per filter value */
	pi->calls = 1;
	foreach(lc, pi->quals)
	{
		FuQual	   *q = (FuQual *) lfirst(lc);

		if (q->col >= FIRST_FILTER && q->col < FIRST_FILTER + NUM_FILTERS &&
			q->op == FU_OP_IN)
			pi->calls *= 3;
	}
	pi->rows = 750.0 * pi->calls;
	return list_make1(makeInteger(metric_mask(pi->needed)));
}

/* ---------- scan start ---------- */

/*
 * Granularity ("=" only, DAILY by default); false when two quals disagree.
 * The values are in the closed set: the engine checked.
 */
static bool
resource_granularity(FuScan *scan, ResState *st)
{
	const char *granularity = NULL;
	ListCell   *lc;

	foreach(lc, scan->quals)
	{
		FuQual	   *q = (FuQual *) lfirst(lc);

		if (q->col != COL_GRANULARITY || !q->known || q->placeholder)
			continue;
		if (granularity && strcmp(granularity, fu_qual_text(q->value)) != 0)
			return false;
		granularity = fu_qual_text(q->value);
	}
	st->hourly = granularity && strcmp(granularity, "HOURLY") == 0;
	fu_scan_fix(scan, COL_GRANULARITY,
				CStringGetTextDatum(st->hourly ? "HOURLY" : "DAILY"));
	return true;
}

/*
 * The window: the period quals', else the last 14 days up to tomorrow.
 * False when it is empty; an ERROR when it starts before the data Cost
 * Explorer keeps.
 */
static bool
resource_window(FuScan *scan, ResState *st)
{
	DateADT		today = fu_today_date();
	DateADT		oldest = today - RESOURCE_DAYS;
	DateADT		lo = DATEVAL_NOBEGIN;
	DateADT		hi = DATEVAL_NOEND;
	bool		by_end = false;
	ListCell   *lc;

	foreach(lc, scan->quals)
	{
		FuQual	   *q = (FuQual *) lfirst(lc);

		if (!q->known || (q->col != COL_PERIOD_START && q->col != COL_PERIOD_END))
			continue;
		fu_narrow_window(q, q->col == COL_PERIOD_END, false, &lo, &hi);
		by_end |= (q->col == COL_PERIOD_END);
	}
	/* the last hour of a day ends on the next one */
	if (st->hourly && by_end && hi != DATEVAL_NOEND)
		hi += 1;
	st->default_start = (lo == DATEVAL_NOBEGIN);
	if (st->default_start)
		lo = oldest;
	hi = Min(hi, today + 1);
	st->start = lo;
	st->end = hi;
	if (lo >= hi)
		return false;
	if (lo < oldest)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("\"%s\" has data for the last %d days only",
						RelationGetRelationName(scan->rel), RESOURCE_DAYS),
				 errdetail("The query asks for %s to %s; Cost Explorer keeps resource-level data from %s on.",
						   fu_date_text(lo), fu_date_text(hi), fu_date_text(oldest)),
				 errhint("Add a condition such as period_start >= current_date - %d, or query aws_cost for older periods.",
						 RESOURCE_DAYS)));
	return true;
}

/*
 * The values each filter column takes (NIL: unfiltered), and the leaves of
 * the resource_id and region quals; *empty when the quals leave no value.
 */
static void
resource_filters(FuScan *scan, ResState *st, List **values, bool *empty)
{
	bool		constrained[NUM_FILTERS] = {false};
	ListCell   *lc;

	*empty = false;
	foreach(lc, scan->quals)
	{
		FuQual	   *q = (FuQual *) lfirst(lc);
		int			f = q->col - FIRST_FILTER;

		if (!q->known)
			continue;
		if (q->col == COL_RESOURCE_ID || q->col == COL_REGION)
			fu_ce_add_leaf(&st->leaves, "Dimensions",
						   q->col == COL_REGION ? "REGION" : "RESOURCE_ID", q);
		else if (f >= 0 && f < NUM_FILTERS)
		{
			values[f] = fu_intersect_strings(values[f], &constrained[f],
											 fu_qual_strings(q));
			if (values[f] == NIL)
				*empty = true;
		}
	}
	if (!constrained[0])
		values[0] = list_make1(DEFAULT_SERVICE);
}

/* A GetCostAndUsageWithResources request for one combination of values */
static void
add_request(FuScan *scan, void *state, CeFilter *filter)
{
	ResState   *st = (ResState *) state;
	StringInfoData body;
	List	   *leaves = NIL;
	FuRequest  *req;

	for (int f = 0; f < NUM_FILTERS; f++)
		if (filter->values[f])
			fu_ce_add_values_leaf(&leaves, "Dimensions", filter_keys[f],
								  list_make1(filter->values[f]), false);
	leaves = list_concat(leaves, st->leaves);

	initStringInfo(&body);
	if (st->hourly)
		appendStringInfo(&body, "{\"TimePeriod\":{\"Start\":\"%sT00:00:00Z\",\"End\":\"%sT00:00:00Z\"},\"Granularity\":\"HOURLY\"",
						 fu_date_text(st->start), fu_date_text(st->end));
	else
		appendStringInfo(&body, "{\"TimePeriod\":{\"Start\":\"%s\",\"End\":\"%s\"},\"Granularity\":\"DAILY\"",
						 fu_date_text(st->start), fu_date_text(st->end));
	fu_ce_append_filter(&body, leaves);
	fu_ce_append_metrics(&body, st->metric_mask);
	appendStringInfoString(&body, ",\"GroupBy\":[{\"Type\":\"DIMENSION\",\"Key\":\"RESOURCE_ID\"},{\"Type\":\"DIMENSION\",\"Key\":\"REGION\"}]}");
	req = fu_ce_request(scan, "GetCostAndUsageWithResources", body.data);
	req->pdata = filter;
}

static void
resource_begin(FuScan *scan)
{
	ResState   *st = palloc0(sizeof(ResState));
	List	   *values[NUM_FILTERS] = {NIL};
	bool		empty;

	scan->pstate = st;
	st->metric_mask = intVal(linitial(scan->plan_private));
	for (int m = 0; m < CE_NUM_METRICS; m++)
		if (bms_is_member(FIRST_METRIC + m, scan->needed))
			st->out_metrics |= 1 << m;
	st->want_currency = bms_is_member(COL_CURRENCY, scan->needed);
	st->want_usage_unit = bms_is_member(COL_USAGE_UNIT, scan->needed);
	st->page.ngroups = 2;

	if (!resource_granularity(scan, st))
		return;
	resource_filters(scan, st, values, &empty);
	if (empty || !resource_window(scan, st))
		return;
	fu_ce_each_filter(scan, st, values, add_request);
}

/* ---------- pages and rows ---------- */

static void
resource_parse_page(FuScan *scan, FuRequest *req, char *body, size_t len)
{
	ResState   *st = (ResState *) scan->pstate;

	st->filter = (CeFilter *) req->pdata;
	fu_ce_parse_results(req, body, len, &st->page);
	st->cur = 0;
}

static bool
resource_next_row(FuScan *scan, Datum *values, bool *nulls)
{
	ResState   *st = (ResState *) scan->pstate;
	CeRow	   *r;
	CePeriod   *p;

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
	values[COL_RESOURCE_ID] = fu_text_datum(r->keys[0]);
	nulls[COL_RESOURCE_ID] = false;
	values[COL_REGION] = fu_text_datum(r->keys[1]);
	nulls[COL_REGION] = false;
	for (int f = 0; f < NUM_FILTERS; f++)
		if (st->filter->values[f])
		{
			values[FIRST_FILTER + f] = st->filter->datums[f];
			nulls[FIRST_FILTER + f] = false;
		}

	for (int m = 0; m < CE_NUM_METRICS; m++)
		if (r->amount[m] && (st->out_metrics & (1 << m)))
		{
			values[FIRST_METRIC + m] =
				fu_numeric_datum(r->amount[m], resource_columns[FIRST_METRIC + m].name);
			nulls[FIRST_METRIC + m] = false;
		}
	if (st->want_currency)
		for (int m = 0; m < CE_NUM_METRICS; m++)
			if (m != METRIC_USAGE && m != METRIC_NORMALIZED && r->unit[m])
			{
				values[COL_CURRENCY] = fu_text_datum(r->unit[m]);
				nulls[COL_CURRENCY] = false;
				break;
			}
	if (st->want_usage_unit && r->unit[METRIC_USAGE])
	{
		values[COL_USAGE_UNIT] = fu_text_datum(r->unit[METRIC_USAGE]);
		nulls[COL_USAGE_UNIT] = false;
	}
	return true;
}

static void
resource_explain(FuScan *scan, ExplainState *es)
{
	ResState   *st = (ResState *) scan->pstate;

	if (st && st->default_start && scan->requests != NIL)
		ExplainPropertyText("Time window",
							psprintf("%s to %s (default: the last %d days, what Cost Explorer keeps at resource level)",
									 fu_date_text(st->start), fu_date_text(st->end),
									 RESOURCE_DAYS),
							es);
}

const FuSource fu_source_aws_cost_by_resource = {
	.name = "aws_cost_by_resource",
	.api = "AWS Cost Explorer GetCostAndUsageWithResources",
	.columns = resource_columns,
	.ncolumns = NUM_COLS,
	.paged = true,
	.call_price = 0.01,
	.classify_qual = resource_classify_qual,
	.plan = resource_plan,
	.begin = resource_begin,
	.parse_page = resource_parse_page,
	.next_row = resource_next_row,
	.explain = resource_explain,
};
