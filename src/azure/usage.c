/*-------------------------------------------------------------------------
 *
 * usage.c
 *		  azure_usage: Azure Cost Management's Query API as a foreign table.
 *
 * Quals become the QueryDefinition: usage_date ranges the timePeriod,
 * cost_type the type, granularity the dataset's, "=" and IN on dimensions
 * and tags an "In" filter (And of several; Cost Management has no Not).
 * The grouping is the table's grain, as for aws_cost: a table declaring at
 * most two dimensions is grouped by all of them; the wide one by what the
 * query reads; a dimension fixed by "=" is filled from the qual.
 *
 * One call takes at most two aggregations and a year: a query reading
 * cost, cost_usd and usage_quantity, or a longer window without a date,
 * makes several calls whose rows are added up by key (as an aggregate scan
 * does: sum of the metrics by group, maybe by day or month).  Cost
 * Management is the most throttled API there is: no call is ever made for
 * speed.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "azure.h"
#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/datum.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

enum
{
	COL_USAGE_DATE,
	COL_GRANULARITY,
	COL_COST_TYPE,
	COL_SUBSCRIPTION_ID,
	COL_RESOURCE_GROUP,
	COL_SERVICE_NAME,
	COL_RESOURCE_LOCATION,
	COL_RESOURCE_TYPE,
	COL_RESOURCE_ID,
	COL_METER_CATEGORY,
	COL_CHARGE_TYPE,
	COL_TAG_KEY,
	COL_TAG_VALUE,
	COL_COST,
	COL_COST_USD,
	COL_USAGE_QUANTITY,
	COL_CURRENCY,
	NUM_COLS
};

#define FIRST_DIM	COL_SUBSCRIPTION_ID
#define LAST_DIM	COL_CHARGE_TYPE
#define FIRST_METRIC COL_COST
#define NUM_METRICS 3
#define MAX_GROUPS	2
#define MAX_DAYS	366			/* a call's timePeriod */

static const char *const granularities[] = {"Daily", "None", NULL};
static const char *const cost_types[] = {"ActualCost", "AmortizedCost", "Usage", NULL};

static const FuColumn usage_columns[NUM_COLS] = {
	{"usage_date", DATEOID, FU_OPS_RANGE},
	{"granularity", TEXTOID, FU_OPS_EQ, FU_COL_PER_VALUE, granularities},
	{"cost_type", TEXTOID, FU_OPS_EQ, FU_COL_PER_VALUE, cost_types},
	{"subscription_id", TEXTOID, FU_OPS_SET},
	{"resource_group", TEXTOID, FU_OPS_SET},
	{"service_name", TEXTOID, FU_OPS_SET},
	{"resource_location", TEXTOID, FU_OPS_SET},
	{"resource_type", TEXTOID, FU_OPS_SET},
	{"resource_id", TEXTOID, FU_OPS_SET},
	{"meter_category", TEXTOID, FU_OPS_SET},
	{"charge_type", TEXTOID, FU_OPS_SET},
	{"tag_key", TEXTOID, FU_OPS_EQ},
	{"tag_value", TEXTOID, FU_OPS_SET},
	{"cost", NUMERICOID, 0},
	{"cost_usd", NUMERICOID, 0},
	{"usage_quantity", NUMERICOID, 0},
	{"currency", TEXTOID, 0},
};

/* Cost Management's dimension names of the dimension columns */
static const char *const dim_names[] = {
	"SubscriptionId", "ResourceGroupName", "ServiceName", "ResourceLocation",
	"ResourceType", "ResourceId", "MeterCategory", "ChargeType"
};

/* Aggregated columns of the metrics, and the names the answer gives them */
static const char *const metric_names[NUM_METRICS] = {"Cost", "CostUSD", "UsageQuantity"};

/* fdw_private of the plan */
enum
{
	PlanMetricMask,				/* Integer */
	PlanGroupCols,				/* List of Integer: grouped dimension columns */
	PlanTagGroup				/* Integer */
};

/* ---------- planning ---------- */

static FuPushdown
usage_classify_qual(const FuSource *src, const FuQual *q)
{
	if (q->col == COL_USAGE_DATE)
	{
		if (q->valtype == DATEOID)
			return FU_PUSH_EXACT;
		/* compared with a timestamp: widened by a day, rechecked */
		return (q->valtype == TIMESTAMPTZOID || q->valtype == TIMESTAMPOID) ?
			FU_PUSH_RECHECK : FU_PUSH_NONE;
	}
	if (q->valtype != TEXTOID)
		return FU_PUSH_NONE;
	/*
	 * "" (untagged) is a NULL tag_value here; Cost Management compares
	 * values without case (an IN's rows may differ in case from its
	 * values), and answers resource ids and types in lower case: rechecked
	 */
	if (q->col == COL_TAG_VALUE || q->col == COL_RESOURCE_ID ||
		q->col == COL_RESOURCE_TYPE || q->op == FU_OP_IN)
		return FU_PUSH_RECHECK;
	/* "=": the rows of the value asked for, filled with it */
	return FU_PUSH_EXACT;
}

/* The dimensions the grain groups by (see the header comment) */
static List *
grouped_dims(FuPlanInfo *pi, bool *tag_group)
{
	Bitmapset  *dims;
	List	   *groups = NIL;
	int			declared = 0;

	for (int c = FIRST_DIM; c <= LAST_DIM; c++)
		if (bms_is_member(c, pi->declared))
			declared++;
	if (bms_is_member(COL_TAG_VALUE, pi->declared))
		declared++;
	dims = declared <= MAX_GROUPS ? pi->declared : pi->needed;
	for (int c = FIRST_DIM; c <= LAST_DIM; c++)
		if (bms_is_member(c, dims) && fu_find_qual(pi->quals, c, FU_OP_EQ) == NULL)
			groups = lappend(groups, makeInteger(c));
	*tag_group = bms_is_member(COL_TAG_VALUE, dims);
	return groups;
}

static int
metric_mask(Bitmapset *needed)
{
	int			mask = 0;

	for (int m = 0; m < NUM_METRICS; m++)
		if (bms_is_member(FIRST_METRIC + m, needed))
			mask |= 1 << m;
	/* rows need a cost to exist; the currency is the cost's */
	return mask ? mask : 1;
}

/*
 * Sums of the metrics by dimensions (at most two), maybe by usage_date or
 * its month, are what Cost Management adds up itself: the scan asks for
 * them grouped, without a date when none is grouped.  Nothing else.
 */
static bool
usage_aggregates(FuPlanInfo *pi)
{
	int			ndims = 0;
	bool		by_day = false;
	bool		by_month = false;
	ListCell   *lc;

	foreach(lc, pi->upper)
	{
		FuUpperItem *it = (FuUpperItem *) lfirst(lc);

		if (it->col == COL_USAGE_DATE)
		{
			/* one date per row: the day or its month, not both */
			by_day |= it->kind == FU_UPPER_GROUP;
			by_month |= it->kind == FU_UPPER_GROUP_MONTH;
			if (by_day && by_month)
				return false;
		}
		if (it->kind == FU_UPPER_GROUP && it->col >= FIRST_DIM && it->col <= LAST_DIM)
			ndims++;
		else if (!((it->kind == FU_UPPER_GROUP || it->kind == FU_UPPER_GROUP_MONTH) &&
				   it->col == COL_USAGE_DATE) &&
				 !(it->kind == FU_UPPER_SUM && it->col >= FIRST_METRIC &&
				   it->col < FIRST_METRIC + NUM_METRICS))
			return false;
	}
	foreach(lc, pi->quals)
	{
		FuQual	   *q = (FuQual *) lfirst(lc);

		if (q->col == COL_GRANULARITY || q->col == COL_TAG_KEY || q->col == COL_TAG_VALUE)
			return false;
	}
	return ndims <= MAX_GROUPS;
}

static List *
usage_plan(FuPlanInfo *pi)
{
	bool		tag_group = false;
	List	   *groups = NIL;
	int			mask = 0;
	bool		tag_key_fixed = fu_find_qual(pi->quals, COL_TAG_KEY, FU_OP_EQ) != NULL;
	const char *relname = get_rel_name(pi->table->relid);
	ListCell   *lc;

	if (pi->upper != NIL)
	{
		foreach(lc, pi->upper)
		{
			FuUpperItem *it = (FuUpperItem *) lfirst(lc);

			if (it->kind == FU_UPPER_GROUP && it->col != COL_USAGE_DATE &&
				fu_find_qual(pi->quals, it->col, FU_OP_EQ) == NULL)
				groups = lappend(groups, makeInteger(it->col));
			else if (it->kind == FU_UPPER_SUM)
				mask |= 1 << (it->col - FIRST_METRIC);
		}
		pi->rows = 30;
		pi->calls = 1;
		return list_make3(makeInteger(mask ? mask : 1), groups, makeInteger(0));
	}

	groups = grouped_dims(pi, &tag_group);
	if (list_length(groups) + (tag_group ? 1 : 0) > MAX_GROUPS)
		fu_plan_refuse(pi, ERRCODE_FEATURE_NOT_SUPPORTED,
					   psprintf("\"%s\" can group by at most two dimensions, but the query needs %d",
								relname, list_length(groups) + (tag_group ? 1 : 0)),
					   "Cost Management accepts at most two groupings. A dimension fixed with \"=\" needs no grouping.",
					   "Select fewer dimension columns, fix some with \"=\", or query azure_usage_by_service, azure_usage_by_resource_group or azure_usage_by_subscription.");
	if ((tag_group || fu_has_qual_on(pi->quals, COL_TAG_VALUE) ||
		 bms_is_member(COL_TAG_KEY, pi->needed)) && !tag_key_fixed)
		fu_plan_refuse(pi, ERRCODE_FEATURE_NOT_SUPPORTED,
					   psprintf("\"%s\" needs tag_key = '<key>' to read or filter tags", relname),
					   NULL, "Add a condition such as WHERE tag_key = 'env'.");
	pi->rows = 30;
	for (int i = 0; i < list_length(groups) + (tag_group ? 1 : 0); i++)
		pi->rows *= 15;
	pi->calls = metric_mask(pi->needed) == 7 ? 2 : 1;
	return list_make3(makeInteger(metric_mask(pi->needed)), groups,
					  makeInteger(tag_group));
}

/* ---------- scan state ---------- */

/* A row: its date (0 when not by date), keys, metrics, currency */
typedef struct UsageRow
{
	DateADT		date;
	char	   *keys[MAX_GROUPS + 1];	/* dimensions, then the tag value */
	char	   *currency;
	Datum		metrics[NUM_METRICS];	/* numeric; 0: absent */
} UsageRow;

typedef struct UsageState
{
	int			metric_mask;
	int			ngroups;		/* keys: dimensions and the tag */
	int			group_cols[MAX_GROUPS + 1];	/* column, or COL_TAG_VALUE */
	char	   *tag_key;
	const char *granularity;
	const char *cost_type;
	bool		merge;			/* several calls or an aggregate: add up */
	bool		upper;			/* an aggregate scan */
	bool		by_month;		/* aggregate scan grouped by month */
	int		   *item_group;
	int		   *item_metric;
	Datum	   *item_fixed;
	int			pending;		/* requests not complete yet */

	/* the current page */
	int			col_of[MAX_GROUPS + 1 + NUM_METRICS + 2];	/* answer column */
	char	  **cells;
	FuJsonToken *types;
	int			ncolumns;
	char	  **colnames;
	int			maxcolnames;
	int			nrows;
	int			maxcells;
	int			cell;			/* in the current row */
	char	   *next_link;
	UsageRow   *rows;			/* the page's rows, or the merged ones */
	int			nout;
	int			cur;

	/* merging */
	MemoryContext acc_cxt;
	UsageRow   *acc;
	int			nacc;
	int			maxacc;
	int			compacted;
	bool		done;
} UsageState;

#define A_DATE		(MAX_GROUPS + 1 + NUM_METRICS)
#define A_CURRENCY	(A_DATE + 1)

/* ---------- scan start ---------- */

/* The DAILY window [lo, hi) of the usage_date quals */
static void
read_window(FuScan *scan, DateADT *lo, DateADT *hi)
{
	ListCell   *lc;

	*lo = DATEVAL_NOBEGIN;
	*hi = DATEVAL_NOEND;
	foreach(lc, scan->quals)
	{
		FuQual	   *q = (FuQual *) lfirst(lc);

		if (q->known && !q->isnull && q->col == COL_USAGE_DATE)
			fu_narrow_window(q, false, false, lo, hi);
	}
}

/* A filter leaf: {"dimensions"|"tags": {"name", "operator": "In", "values"}} */
static char *
leaf(const char *kind, const char *name, List *values)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"%s\":{\"name\":", kind);
	escape_json(&buf, name);
	appendStringInfoString(&buf, ",\"operator\":\"In\",\"values\":[");
	foreach(lc, values)
	{
		if (foreach_current_index(lc) > 0)
			appendStringInfoChar(&buf, ',');
		escape_json(&buf, (char *) lfirst(lc));
	}
	appendStringInfoString(&buf, "]}}");
	return buf.data;
}

static char *
request_body(UsageState *st, DateADT from, DateADT to, int mask, List *leaves)
{
	StringInfoData b;
	ListCell   *lc;
	bool		first = true;

	initStringInfo(&b);
	appendStringInfo(&b, "{\"type\":\"%s\",\"timeframe\":\"Custom\",\"timePeriod\":{\"from\":\"%sT00:00:00Z\",\"to\":\"%sT23:59:59Z\"},\"dataset\":{\"granularity\":\"%s\",\"aggregation\":{",
					 st->cost_type, fu_date_text(from), fu_date_text(to - 1),
					 st->granularity);
	for (int m = 0; m < NUM_METRICS; m++)
		if (mask & (1 << m))
		{
			appendStringInfo(&b, "%s\"total%s\":{\"name\":\"%s\",\"function\":\"Sum\"}",
							 first ? "" : ",", metric_names[m], metric_names[m]);
			first = false;
		}
	appendStringInfoChar(&b, '}');
	if (st->ngroups > 0)
	{
		appendStringInfoString(&b, ",\"grouping\":[");
		for (int i = 0; i < st->ngroups; i++)
		{
			int			c = st->group_cols[i];

			if (i > 0)
				appendStringInfoChar(&b, ',');
			if (c == COL_TAG_VALUE)
			{
				appendStringInfoString(&b, "{\"type\":\"TagKey\",\"name\":");
				escape_json(&b, st->tag_key ? st->tag_key : "");
				appendStringInfoChar(&b, '}');
			}
			else
				appendStringInfo(&b, "{\"type\":\"Dimension\",\"name\":\"%s\"}",
								 dim_names[c - FIRST_DIM]);
		}
		appendStringInfoChar(&b, ']');
	}
	if (list_length(leaves) == 1)
		appendStringInfo(&b, ",\"filter\":%s", (char *) linitial(leaves));
	else if (leaves != NIL)
	{
		appendStringInfoString(&b, ",\"filter\":{\"and\":[");
		foreach(lc, leaves)
			appendStringInfo(&b, "%s%s", foreach_current_index(lc) ? "," : "",
							 (char *) lfirst(lc));
		appendStringInfoString(&b, "]}");
	}
	appendStringInfoString(&b, "}}");
	return b.data;
}

/* An aggregate scan: where each item's value comes from */
static void
upper_begin(FuScan *scan, UsageState *st)
{
	ListCell   *lc;
	int			n = list_length(scan->upper);
	bool		by_date = false;

	st->merge = true;
	st->upper = true;
	st->item_group = palloc(sizeof(int) * n);
	st->item_metric = palloc(sizeof(int) * n);
	st->item_fixed = palloc0(sizeof(Datum) * n);
	foreach(lc, scan->upper)
	{
		FuUpperItem *it = (FuUpperItem *) lfirst(lc);
		int			i = foreach_current_index(lc);

		st->item_group[i] = -1;
		st->item_metric[i] = -1;
		if (it->kind == FU_UPPER_GROUP && it->col == COL_USAGE_DATE)
			by_date = true;
		else if (it->kind == FU_UPPER_GROUP_MONTH)
			st->by_month = by_date = true;
		else if (it->kind == FU_UPPER_GROUP)
		{
			FuQual	   *q = fu_find_qual(scan->quals, it->col, FU_OP_EQ);

			for (int g = 0; g < st->ngroups; g++)
				if (st->group_cols[g] == it->col)
					st->item_group[i] = g;
			if (st->item_group[i] < 0 && q && q->known && !q->isnull)
				st->item_fixed[i] = q->value;
		}
		else if (it->kind == FU_UPPER_SUM)
			st->item_metric[i] = it->col - FIRST_METRIC;
	}
	/* no date in the groups: the totals of the window */
	st->granularity = by_date ? "Daily" : "None";
}

static void
usage_begin(FuScan *scan)
{
	UsageState *st = palloc0(sizeof(UsageState));
	List	   *pp = scan->plan_private;
	List	   *leaves = NIL;
	List	   *masks = NIL;
	DateADT		lo,
				hi;
	DateADT		today = fu_today_date();
	char	   *scope;
	ListCell   *lc;

	scan->pstate = st;
	st->metric_mask = intVal(list_nth(pp, PlanMetricMask));
	foreach(lc, (List *) list_nth(pp, PlanGroupCols))
		st->group_cols[st->ngroups++] = intVal(lfirst(lc));
	st->granularity = "Daily";
	st->cost_type = "ActualCost";

	/* the tag key first: a tag_value qual's filter needs it */
	foreach(lc, scan->quals)
	{
		FuQual	   *q = (FuQual *) lfirst(lc);

		if (q->col == COL_TAG_KEY && q->known && !q->isnull && !q->placeholder)
		{
			/* no row has two tag keys */
			if (st->tag_key && strcmp(st->tag_key, fu_qual_text(q->value)) != 0)
				return;
			st->tag_key = fu_qual_text(q->value);
			fu_scan_fix(scan, COL_TAG_KEY, q->value);
		}
	}
	foreach(lc, scan->quals)
	{
		FuQual	   *q = (FuQual *) lfirst(lc);

		if (!q->known || q->isnull)
			continue;
		if (q->col == COL_GRANULARITY)
			st->granularity = fu_qual_text(q->value);
		else if (q->col == COL_COST_TYPE)
			st->cost_type = fu_qual_text(q->value);
		else if (q->col >= FIRST_DIM && q->col <= LAST_DIM)
		{
			if (q->op == FU_OP_EQ)
				fu_scan_fix(scan, q->col, q->value);
			leaves = lappend(leaves, leaf("dimensions", dim_names[q->col - FIRST_DIM],
										  fu_qual_strings(q)));
		}
		else if (q->col == COL_TAG_VALUE && st->tag_key)
			leaves = lappend(leaves, leaf("tags", st->tag_key, fu_qual_strings(q)));
	}
	if (intVal(list_nth(pp, PlanTagGroup)) && st->ngroups < MAX_GROUPS + 1)
		st->group_cols[st->ngroups++] = COL_TAG_VALUE;

	if (scan->upper != NIL)
		upper_begin(scan, st);
	else
	{
		fu_scan_fix(scan, COL_GRANULARITY, CStringGetTextDatum(st->granularity));
		fu_scan_fix(scan, COL_COST_TYPE, CStringGetTextDatum(st->cost_type));
	}

	/* the window: the quals', else this month and the eleven before it */
	read_window(scan, &lo, &hi);
	if (lo == DATEVAL_NOBEGIN)
		lo = fu_add_months(fu_month_floor(today), -11);
	hi = Min(hi, today + 1);
	if (lo >= hi)
		return;

	/*
	 * At most two aggregations a call: the third metric is another call.
	 * It asks for Cost too, so that its rows have a currency like the
	 * first's, but takes only UsageQuantity.
	 */
	if (st->metric_mask == 7)
		masks = list_make2_int(3, 5);
	else
		masks = list_make1_int(st->metric_mask);
	if (list_length(masks) > 1 || hi - lo > MAX_DAYS)
		st->merge = true;
	if (strcmp(st->granularity, "None") == 0 && hi - lo > MAX_DAYS && scan->upper == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("\"%s\" reads totals (granularity None) of at most %d days",
						RelationGetRelationName(scan->rel), MAX_DAYS),
				 errhint("Narrow the usage_date window, or read Daily rows.")));

	/* the scope option, else the subscription */
	scope = fu_get_option(scan->server->options, "scope");
	scope = scope ? scope + (scope[0] == '/') :
		psprintf("subscriptions/%s", fu_azure_subscription(scan->server));

	/* a call per year of the window and per pair of metrics */
	for (DateADT from = lo; from < hi; from += MAX_DAYS)
	{
		DateADT		to = Min(from + MAX_DAYS, hi);

		foreach(lc, masks)
		{
			char	   *body = request_body(st, from, to, lfirst_int(lc), leaves);
			FuRequest  *req = fu_request_new(scan, "Azure Cost Management query", "POST",
											 fu_base_url(scan->server, AZURE_ARM_HOST),
											 psprintf("%s/providers/Microsoft.CostManagement/query",
													  scope));

			fu_request_param(req, "api-version", AZURE_COST_API);
			fu_request_body(req, "application/json", body, strlen(body));
			/*
			 * The metrics this call's rows give: all it asks for, except
			 * the third metric's call, whose Cost the first call gives
			 */
			req->pdata = (void *) (intptr_t)
				(st->metric_mask == 7 && lfirst_int(lc) == 5 ? 4 : lfirst_int(lc));
			st->pending++;
		}
	}
}

/* ---------- page parsing ---------- */

enum
{
	F_properties,
	F_nextLink,
	F_columns,
	F_rows,
	F_name,
};

static const char *const cm_names[] = {
	"properties", "nextLink", "columns", "rows", "name", NULL
};

/* properties.rows[i][j]: level 1 the document, 2 properties, 3 rows, 4 a row */
static void
cm_array_start(void *arg, FuJsonWalk *w)
{
	UsageState *st = (UsageState *) arg;

	if (w->depth == 4 && fu_walk_at(w, 1, F_properties) && fu_walk_at(w, 2, F_rows))
	{
		int			need = (st->nrows + 1) * st->ncolumns;

		if (st->ncolumns == 0)
			fu_walk_malformed(w, "The rows come before their columns.");
		if (need > st->maxcells)
		{
			st->maxcells = Max(need, st->maxcells * 2);
			st->cells = st->cells ? repalloc(st->cells, sizeof(char *) * st->maxcells) :
				palloc(sizeof(char *) * st->maxcells);
			st->types = st->types ? repalloc(st->types, sizeof(FuJsonToken) * st->maxcells) :
				palloc(sizeof(FuJsonToken) * st->maxcells);
		}
		memset(st->cells + st->nrows * st->ncolumns, 0, sizeof(char *) * st->ncolumns);
		st->nrows++;
		st->cell = 0;
	}
}

static void
cm_array_end(void *arg, FuJsonWalk *w)
{
	UsageState *st = (UsageState *) arg;

	if (w->depth == 4 && fu_walk_at(w, 1, F_properties) && fu_walk_at(w, 2, F_rows) &&
		st->cell != st->ncolumns)
		fu_walk_malformed(w, "A row has not as many values as there are columns.");
}

static void
cm_scalar(void *arg, FuJsonWalk *w, char *tok, FuJsonToken type)
{
	UsageState *st = (UsageState *) arg;

	if (!fu_walk_at(w, 1, F_properties))
		return;
	if (w->depth == 2 && fu_walk_at(w, 2, F_nextLink))
		st->next_link = (type == FU_JSON_STRING && tok[0]) ? tok : NULL;
	else if (w->depth == 4 && fu_walk_at(w, 2, F_columns) && fu_walk_at(w, 4, F_name) &&
			 type == FU_JSON_STRING)
	{
		if (st->nrows > 0)
			fu_walk_malformed(w, "Columns come after the rows.");
		st->colnames = fu_grow(st->colnames, st->ncolumns, &st->maxcolnames, sizeof(char *));
		st->colnames[st->ncolumns++] = tok;
	}
	else if (w->depth == 4 && fu_walk_at(w, 2, F_rows) && w->arrays[4])
	{
		if (st->cell >= st->ncolumns)
			fu_walk_malformed(w, "A row has more values than there are columns.");
		/* a number's text ends only while its handler runs: copy it */
		st->cells[(st->nrows - 1) * st->ncolumns + st->cell] =
			type == FU_JSON_NULL ? NULL : type == FU_JSON_STRING ? tok : pstrdup(tok);
		st->types[(st->nrows - 1) * st->ncolumns + st->cell] = type;
		st->cell++;
	}
}

static const FuJsonHandlers cm_handlers = {
	.names = cm_names,
	.array_start = cm_array_start,
	.array_end = cm_array_end,
	.scalar = cm_scalar,
};

static int
column_index(UsageState *st, const char *name)
{
	for (int i = 0; i < st->ncolumns; i++)
		if (pg_strcasecmp(st->colnames[i], name) == 0)
			return i;
	return -1;
}

/* UsageDate: an integer YYYYMMDD */
static DateADT
usage_date(FuRequest *req, const char *s)
{
	char	   *end;
	long		v = strtol(s, &end, 10);
	int			y = v / 10000,
				m = v / 100 % 100,
				d = v % 100;

	if (*end != '\0' || end == s || y < 1900 || y > 9999 || m < 1 || m > 12 ||
		d < 1 || d > day_tab[isleap(y)][m - 1])
		fu_json_malformed(req->label, psprintf("UsageDate \"%s\" is not a date YYYYMMDD.",
											   fu_api_text(s)));
	return date2j(y, m, d) - POSTGRES_EPOCH_JDATE;
}

static int
row_cmp(const void *a, const void *b, void *arg)
{
	const UsageRow *x = (const UsageRow *) a;
	const UsageRow *y = (const UsageRow *) b;
	const UsageState *st = (const UsageState *) arg;
	int			n = st->ngroups;
	int			c;

	if (x->date != y->date)
		return x->date < y->date ? -1 : 1;
	for (int i = 0; i < n; i++)
		if ((c = strcmp(x->keys[i] ? x->keys[i] : "", y->keys[i] ? y->keys[i] : "")) != 0)
			return c;
	/* an aggregate adds every currency's amounts, as SQL would */
	if (st->upper)
		return 0;
	return strcmp(x->currency ? x->currency : "", y->currency ? y->currency : "");
}

/* Add up the rows kept so far by key, into a new context */
static void
compact(FuScan *scan, UsageState *st)
{
	MemoryContext cxt = AllocSetContextCreate(scan->req_cxt, "finops_usage sums",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	UsageRow   *out = palloc(sizeof(UsageRow) * Max(st->nacc, 1));
	int			n = 0;

	if (st->nacc > 1)
		qsort_arg(st->acc, st->nacc, sizeof(UsageRow), row_cmp, st);
	for (int r = 0; r < st->nacc; r++)
	{
		UsageRow   *row = &st->acc[r];
		UsageRow   *dst;

		if (n > 0 && row_cmp(&out[n - 1], row, st) == 0)
		{
			dst = &out[n - 1];
			for (int m = 0; m < NUM_METRICS; m++)
				if (row->metrics[m] && dst->metrics[m])
					dst->metrics[m] = DirectFunctionCall2(numeric_add, dst->metrics[m],
														  row->metrics[m]);
				else if (row->metrics[m])
					dst->metrics[m] = datumCopy(row->metrics[m], false, -1);
			continue;
		}
		dst = &out[n++];
		dst->date = row->date;
		for (int k = 0; k < st->ngroups; k++)
			dst->keys[k] = row->keys[k] ? pstrdup(row->keys[k]) : NULL;
		dst->currency = row->currency ? pstrdup(row->currency) : NULL;
		for (int m = 0; m < NUM_METRICS; m++)
			dst->metrics[m] = row->metrics[m] ?
				datumCopy(row->metrics[m], false, -1) : (Datum) 0;
	}
	MemoryContextSwitchTo(old);
	if (st->acc_cxt)
		MemoryContextDelete(st->acc_cxt);
	st->acc_cxt = cxt;
	st->acc = out;
	st->nacc = st->maxacc = st->compacted = n;
}

static void
usage_parse_page(FuScan *scan, FuRequest *req, char *body, size_t len)
{
	UsageState *st = (UsageState *) scan->pstate;
	int			metric_cols[NUM_METRICS];
	int			key_cols[MAX_GROUPS + 1];
	int			date_col,
				cur_col;
	int			take = (int) (intptr_t) req->pdata;
	MemoryContext old;

	st->cells = NULL;
	st->types = NULL;
	st->colnames = NULL;
	st->ncolumns = st->maxcolnames = st->nrows = st->maxcells = st->cell = 0;
	st->next_link = NULL;
	st->nout = st->cur = 0;
	st->rows = NULL;

	/* a rescan parses the kept pages again: add up anew */
	if (st->merge && st->done && scan->replaying)
	{
		st->pending = list_length(scan->requests);
		st->nacc = st->maxacc = st->compacted = 0;
		st->acc = NULL;
		st->done = false;
	}

	/* 204 No Content: no row at all */
	if (len > 0)
		fu_parse_json_events(req->label, body, len, &cm_handlers, st);
	if (st->next_link)
		fu_next_link(req, st->next_link);
	else
		st->pending--;

	/* the answer's columns, by name; every metric asked for is there */
	for (int m = 0; m < NUM_METRICS; m++)
	{
		metric_cols[m] = column_index(st, metric_names[m]);
		if (metric_cols[m] < 0 && (take & (1 << m)) && st->nrows > 0)
			fu_json_malformed(req->label, psprintf("The answer has no %s column.", metric_names[m]));
	}
	for (int g = 0; g < st->ngroups; g++)
		key_cols[g] = column_index(st, st->group_cols[g] == COL_TAG_VALUE ? "TagValue" :
								   dim_names[st->group_cols[g] - FIRST_DIM]);
	date_col = column_index(st, "UsageDate");
	cur_col = column_index(st, "Currency");
	for (int g = 0; g < st->ngroups && st->nrows > 0; g++)
		if (key_cols[g] < 0)
			fu_json_malformed(req->label, "A grouping column is missing from the answer.");
	if (st->nrows > 0 && strcmp(st->granularity, "Daily") == 0 && date_col < 0)
		fu_json_malformed(req->label, "The answer has no UsageDate column.");

	/* rows of this page; kept for adding up when merging */
	old = MemoryContextSwitchTo(st->merge ? (st->acc_cxt ? st->acc_cxt :
											 (st->acc_cxt = AllocSetContextCreate(scan->req_cxt,
																				  "finops_usage sums",
																				  ALLOCSET_DEFAULT_SIZES))) :
								CurrentMemoryContext);
	st->rows = palloc0(sizeof(UsageRow) * Max(st->nrows, 1));
	for (int r = 0; r < st->nrows; r++)
	{
		char	  **cells = st->cells + r * st->ncolumns;
		UsageRow   *row = &st->rows[r];

		if (date_col >= 0 && cells[date_col])
			row->date = usage_date(req, cells[date_col]);
		if (st->by_month)
			row->date = fu_month_floor(row->date);
		for (int g = 0; g < st->ngroups; g++)
			row->keys[g] = cells[key_cols[g]] ? pstrdup(cells[key_cols[g]]) : NULL;
		row->currency = cur_col >= 0 && cells[cur_col] ? pstrdup(cells[cur_col]) : NULL;
		for (int m = 0; m < NUM_METRICS; m++)
			if (metric_cols[m] >= 0 && cells[metric_cols[m]] && (take & (1 << m)))
			{
				if (st->types[r * st->ncolumns + metric_cols[m]] != FU_JSON_NUMBER)
					fu_json_malformed(req->label, psprintf("%s is not a number.", metric_names[m]));
				row->metrics[m] = fu_numeric_datum(cells[metric_cols[m]],
												   usage_columns[FIRST_METRIC + m].name);
			}
	}
	MemoryContextSwitchTo(old);
	st->nout = st->nrows;
	if (!st->merge)
		return;

	/* merging: nothing is out before the last page of the last call */
	for (int r = 0; r < st->nrows; r++)
	{
		if (st->nacc >= st->maxacc)
		{
			st->maxacc = Max(64, st->maxacc * 2);
			st->acc = st->acc ? repalloc(st->acc, sizeof(UsageRow) * st->maxacc) :
				MemoryContextAlloc(st->acc_cxt, sizeof(UsageRow) * st->maxacc);
		}
		st->acc[st->nacc++] = st->rows[r];
	}
	st->nout = 0;
	if (st->pending <= 0 || st->nacc > 2 * st->compacted + 10000)
		compact(scan, st);
	if (st->pending <= 0)
	{
		st->done = true;
		st->rows = st->acc;
		st->nout = st->nacc;
	}
}

static Datum
key_datum(UsageState *st, int g, const char *k, bool *isnull)
{
	/* "" is the untagged cost's (and a resource-less charge's) value */
	*isnull = (k == NULL || k[0] == '\0');
	return *isnull ? (Datum) 0 : fu_text_datum(k);
}

static bool
usage_next_row(FuScan *scan, Datum *values, bool *nulls)
{
	UsageState *st = (UsageState *) scan->pstate;
	UsageRow   *r;

	if (st->cur >= st->nout)
		return false;
	r = &st->rows[st->cur++];

	if (scan->upper != NIL)
	{
		ListCell   *lc;

		foreach(lc, scan->upper)
		{
			FuUpperItem *it = (FuUpperItem *) lfirst(lc);
			int			i = foreach_current_index(lc);
			int			m = st->item_metric[i];

			nulls[i] = true;
			if (it->col == COL_USAGE_DATE)
			{
				values[i] = DateADTGetDatum(r->date);
				nulls[i] = false;
			}
			else if (st->item_group[i] >= 0)
				values[i] = key_datum(st, st->item_group[i], r->keys[st->item_group[i]],
									  &nulls[i]);
			else if (st->item_fixed[i])
			{
				values[i] = st->item_fixed[i];
				nulls[i] = false;
			}
			else if (m >= 0 && r->metrics[m])
			{
				values[i] = r->metrics[m];
				nulls[i] = false;
			}
		}
		return true;
	}

	if (strcmp(st->granularity, "Daily") == 0)
	{
		values[COL_USAGE_DATE] = DateADTGetDatum(r->date);
		nulls[COL_USAGE_DATE] = false;
	}
	for (int g = 0; g < st->ngroups; g++)
		values[st->group_cols[g]] = key_datum(st, g, r->keys[g], &nulls[st->group_cols[g]]);
	for (int m = 0; m < NUM_METRICS; m++)
		if (r->metrics[m])
		{
			values[FIRST_METRIC + m] = r->metrics[m];
			nulls[FIRST_METRIC + m] = false;
		}
	if (r->currency)
	{
		values[COL_CURRENCY] = fu_text_datum(r->currency);
		nulls[COL_CURRENCY] = false;
	}
	return true;
}

const FuSource fu_source_azure_usage = {
	.name = "azure_usage",
	.api = "Azure Cost Management Query",
	.columns = usage_columns,
	.ncolumns = NUM_COLS,
	.call_price = 0,
	.paged = true,
	.classify_qual = usage_classify_qual,
	.plan = usage_plan,
	.aggregates = usage_aggregates,
	.begin = usage_begin,
	.parse_page = usage_parse_page,
	.next_row = usage_next_row,
};
