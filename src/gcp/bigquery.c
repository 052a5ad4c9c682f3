/*-------------------------------------------------------------------------
 *
 * bigquery.c
 *		  gcp_cost: the BigQuery billing export (standard or detailed) as a
 *		  foreign table, read through jobs.query and jobs.getQueryResults.
 *
 * A scan is one GoogleSQL query over the server's billing_table, run in
 * the server's project.  Every value of a qual travels as a query
 * parameter (@p0, @p1...): no user text is ever spliced into the SQL.
 * Only the columns the query reads are selected, and a lower bound on
 * usage_start_time also bounds _PARTITIONTIME (a day earlier: rows land in
 * the partition of their export day, never before their usage), which is
 * what BigQuery bills by.  An aggregate path groups and aggregates inside
 * BigQuery.
 *
 * The detailed export (gcp_billing_export_resource_v1_<account>) adds the
 * resource record: resource_name and resource_global_name read it.  The
 * standard export has no such column, so there they are NULL without being
 * asked for, and a pushed condition on them holds for no row.
 *
 * Money: cost, cost_at_list, credits and usage amounts (in usage and in
 * pricing units) are FLOAT64 in the export; the query casts them to NUMERIC (9 decimal places, BigQuery's rounding), so
 * that a sum is the same whether BigQuery or PostgreSQL adds.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "gcp.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/rel.h"

enum
{
	COL_USAGE_START_TIME,
	COL_USAGE_END_TIME,
	COL_INVOICE_MONTH,
	COL_BILLING_ACCOUNT_ID,
	COL_PROJECT_ID,
	COL_PROJECT_NAME,
	COL_SERVICE,
	COL_SERVICE_ID,
	COL_SKU,
	COL_SKU_ID,
	COL_REGION,
	COL_ZONE,
	COL_COST_TYPE,
	COL_CURRENCY,
	COL_USAGE_UNIT,
	COL_COST,
	COL_CREDITS,
	COL_NET_COST,
	COL_USAGE_AMOUNT,
	COL_LABELS,
	COL_RESOURCE_NAME,
	COL_RESOURCE_GLOBAL_NAME,
	COL_COST_AT_LIST,
	COL_PRICING_QUANTITY,
	COL_PRICING_UNIT,
	NUM_COLS
};

#define CREDITS_SQL \
	"IFNULL((SELECT SUM(CAST(c.amount AS NUMERIC)) FROM UNNEST(credits) AS c), 0)"

/* The GoogleSQL of each column, over the export's schema */
static const char *const column_sql[NUM_COLS] = {
	"usage_start_time",
	"usage_end_time",
	"invoice.month",
	"billing_account_id",
	"project.id",
	"project.name",
	"service.description",
	"service.id",
	"sku.description",
	"sku.id",
	"location.region",
	"location.zone",
	"cost_type",
	"currency",
	"usage.unit",
	"CAST(cost AS NUMERIC)",
	CREDITS_SQL,
	"CAST(cost AS NUMERIC) + " CREDITS_SQL,
	"CAST(usage.amount AS NUMERIC)",
	"TO_JSON_STRING(labels)",
	"resource.name",
	"resource.global_name",
	"CAST(cost_at_list AS NUMERIC)",
	"CAST(usage.amount_in_pricing_units AS NUMERIC)",
	"usage.pricing_unit",
};

static const char *const cost_types[] = {
	"regular", "tax", "adjustment", "rounding error", NULL
};

#define TEXT_COL(name) {name, TEXTOID, FU_OPS_SET_NEG}

static const FuColumn cost_columns[NUM_COLS] = {
	{"usage_start_time", TIMESTAMPTZOID, FU_OPS_RANGE},
	{"usage_end_time", TIMESTAMPTZOID, FU_OPS_RANGE},
	TEXT_COL("invoice_month"),
	TEXT_COL("billing_account_id"),
	TEXT_COL("project_id"),
	TEXT_COL("project_name"),
	TEXT_COL("service"),
	TEXT_COL("service_id"),
	TEXT_COL("sku"),
	TEXT_COL("sku_id"),
	TEXT_COL("region"),
	TEXT_COL("zone"),
	{"cost_type", TEXTOID, FU_OPS_SET_NEG, 0, cost_types},
	TEXT_COL("currency"),
	TEXT_COL("usage_unit"),
	{"cost", NUMERICOID, 0},
	{"credits", NUMERICOID, 0},
	{"net_cost", NUMERICOID, 0},
	{"usage_amount", NUMERICOID, 0},
	{"labels", JSONBOID, 0},
	TEXT_COL("resource_name"),
	TEXT_COL("resource_global_name"),
	{"cost_at_list", NUMERICOID, 0},
	{"pricing_quantity", NUMERICOID, 0},
	TEXT_COL("pricing_unit"),
};

static bool
is_time(int col)
{
	return col == COL_USAGE_START_TIME || col == COL_USAGE_END_TIME;
}

static bool
is_money(int col)
{
	return (col >= COL_COST && col <= COL_USAGE_AMOUNT) ||
		col == COL_COST_AT_LIST || col == COL_PRICING_QUANTITY;
}

static bool
is_resource(int col)
{
	return col == COL_RESOURCE_NAME || col == COL_RESOURCE_GLOBAL_NAME;
}

/* The name Cloud Billing gives the detailed export's table */
#define DETAILED_PREFIX "gcp_billing_export_resource_v1_"

/*
 * Whether the server's billing_table is a detailed export, the only one
 * with the resource columns (the option was checked: project.dataset.table)
 */
static bool
detailed_export(ForeignServer *server)
{
	char	   *table = fu_get_option(server->options, "billing_table");
	char	   *dot = table ? strrchr(table, '.') : NULL;

	return dot != NULL &&
		strncmp(dot + 1, DETAILED_PREFIX, strlen(DETAILED_PREFIX)) == 0;
}

/* ---------- planning ---------- */

static FuPushdown
cost_classify_qual(const FuSource *src, const FuQual *q)
{
	/* a time compares as PostgreSQL would once made a timestamptz */
	if (is_time(q->col))
		return (q->valtype == TIMESTAMPTZOID || q->valtype == DATEOID ||
				q->valtype == TIMESTAMPOID) ? FU_PUSH_EXACT : FU_PUSH_NONE;
	/* text equality is byte equality in both (deterministic collations) */
	return q->valtype == TEXTOID ? FU_PUSH_EXACT : FU_PUSH_NONE;
}

/*
 * BigQuery computes these exactly as PostgreSQL does from the rows: groups
 * of equal texts or times; count; sum and avg of NUMERIC (exact); min and
 * max of numbers and times (not of text: its order is the collation's).
 */
static bool
cost_aggregates(FuPlanInfo *pi)
{
	ListCell   *lc;

	foreach(lc, pi->upper)
	{
		FuUpperItem *it = (FuUpperItem *) lfirst(lc);

		switch (it->kind)
		{
			case FU_UPPER_GROUP:
				if (it->col == COL_LABELS || is_money(it->col))
					return false;
				break;
			case FU_UPPER_GROUP_UTC_DAY:
				/* DATE(timestamp) is the UTC date in BigQuery too */
				break;
			case FU_UPPER_COUNT_STAR:
			case FU_UPPER_COUNT:
				break;
			case FU_UPPER_SUM:
			case FU_UPPER_AVG:
				if (!is_money(it->col))
					return false;
				break;
			case FU_UPPER_MIN:
			case FU_UPPER_MAX:
				if (!is_money(it->col) && !is_time(it->col))
					return false;
				break;
			default:
				return false;
		}
	}
	return true;
}

static List *
cost_plan(FuPlanInfo *pi)
{
	int			ngroups = 0;
	ListCell   *lc;

	if (fu_get_option(pi->server->options, "billing_table") == NULL)
		fu_plan_refuse(pi, ERRCODE_FDW_OPTION_NAME_NOT_FOUND,
					   psprintf("server \"%s\" has no billing_table", pi->server->servername),
					   "gcp_cost reads the BigQuery table the Cloud Billing export writes to.",
					   "Set the billing_table option of the server to project.dataset.gcp_billing_export_v1_<billing account id>.");

	/* about a thousand rows a day; a month when the window is not known */
	pi->rows = 30000;
	foreach(lc, pi->upper)
		if (FU_UPPER_IS_GROUP((FuUpperItem *) lfirst(lc)))
			ngroups++;
	if (pi->upper != NIL)
		pi->rows = ngroups == 0 ? 1 : Min(pi->rows, 20.0 * ngroups * ngroups);
	/* the job and its result pages; BigQuery bills bytes, not calls */
	pi->calls = 1;
	return NIL;
}

/* ---------- scan start ---------- */

/* One cell of the result per item, two for avg (sum and count) */
typedef struct BqItem
{
	FuUpperKind kind;
	int			col;
	int			cell;			/* first cell of the row */
} BqItem;

typedef struct BqState
{
	bool		detailed;		/* the table has the resource columns */
	BqItem	   *items;
	int			nitems;
	int			ncells;
	char	   *project;		/* runs the job */
	char	   *base;
	int			polls;
	int64		bytes;			/* totalBytesProcessed, summed */
	int64		bytes_billed;

	/* the page */
	FuRequest  *req;
	char	  **cells;			/* nrows * ncells */
	int			nrows;
	int			maxcells;
	int			ncell_row;		/* cells seen in the current row */
	int			cur;
	bool		complete;
	bool		complete_seen;
	char	   *job_id;
	char	   *location;
	char	   *page_token;
	char	   *page_bytes;
	char	   *page_bytes_billed;
	int			nfields;
} BqState;

static const char *
agg_sql(FuUpperKind kind)
{
	switch (kind)
	{
		case FU_UPPER_SUM:
			return "SUM";
		case FU_UPPER_MIN:
			return "MIN";
		case FU_UPPER_MAX:
			return "MAX";
		case FU_UPPER_COUNT:
			return "COUNT";
		default:
			return NULL;
	}
}

/* A named query parameter: {"name", "parameterType", "parameterValue"} */
static void
add_param(StringInfo params, int *n, const char *type, List *values,
		  bool array)
{
	ListCell   *lc;

	if (params->len > 0)
		appendStringInfoChar(params, ',');
	appendStringInfo(params, "{\"name\":\"p%d\",\"parameterType\":", (*n)++);
	if (array)
		appendStringInfo(params, "{\"type\":\"ARRAY\",\"arrayType\":{\"type\":\"%s\"}},\"parameterValue\":{\"arrayValues\":[", type);
	else
		appendStringInfo(params, "{\"type\":\"%s\"},\"parameterValue\":", type);
	foreach(lc, values)
	{
		if (foreach_current_index(lc) > 0)
			appendStringInfoChar(params, ',');
		appendStringInfoString(params, "{\"value\":");
		escape_json(params, (char *) lfirst(lc));
		appendStringInfoChar(params, '}');
	}
	appendStringInfoString(params, array ? "]}}" : "}");
}

#define UNIX_EPOCH_USECS	((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY)

/* A timestamptz as BigQuery's TIMESTAMP literal text, in UTC */
static char *
timestamp_text(TimestampTz t)
{
	int64		us = t + UNIX_EPOCH_USECS;
	int64		secs = us / USECS_PER_SEC;
	int64		frac = us % USECS_PER_SEC;
	int64		days;
	int			y,
				m,
				d;

	if (frac < 0)
	{
		frac += USECS_PER_SEC;
		secs--;
	}
	days = secs / SECS_PER_DAY;
	secs %= SECS_PER_DAY;
	if (secs < 0)
	{
		secs += SECS_PER_DAY;
		days--;
	}
	j2date((int) (days + UNIX_EPOCH_JDATE), &y, &m, &d);
	return psprintf("%04d-%02d-%02d %02d:%02d:%02d.%06d+00", y, m, d,
					(int) (secs / 3600), (int) (secs / 60 % 60), (int) (secs % 60),
					(int) frac);
}

/* BigQuery's TIMESTAMP range, 0001-01-01 to 9999-12-31, in Unix microseconds */
#define BQ_MIN_TIMESTAMP	INT64CONST(-62135596800000000)
#define BQ_MAX_TIMESTAMP	INT64CONST(253402300799999999)

/* A time qual's value as a timestamptz, as PostgreSQL compares them */
static TimestampTz
qual_timestamptz(FuQual *q)
{
	if (q->valtype == DATEOID)
	{
		/* a date past the timestamps compares as an infinity */
		int			overflow = 0;
		TimestampTz t = date2timestamptz_opt_overflow(DatumGetDateADT(q->value),
													  &overflow);

		if (overflow)
			TIMESTAMP_NOEND(t);
		if (overflow < 0)
			TIMESTAMP_NOBEGIN(t);
		return t;
	}
	if (q->valtype == TIMESTAMPOID)
		return DatumGetTimestampTz(DirectFunctionCall1(timestamp_timestamptz, q->value));
	return DatumGetTimestampTz(q->value);
}

static const char *const sql_ops[] = {"=", "!=", "<", "<=", ">", ">="};

/*
 * The WHERE clause of the quals, its parameters in params.  False when
 * they exclude every row.
 */
static bool
where_clause(FuScan *scan, StringInfo sql, StringInfo params, int *nparams)
{
	TimestampTz lower = DT_NOBEGIN;
	int			lower_param = -1;
	bool		first = true;
	bool		detailed = detailed_export(scan->server);
	ListCell   *lc;

	foreach(lc, scan->quals)
	{
		FuQual	   *q = (FuQual *) lfirst(lc);
		const char *col = column_sql[q->col];

		if (!q->known || q->pushdown == FU_PUSH_NONE)
			continue;
		if (q->isnull)
			return false;
		/* =, <>, IN and NOT IN of a NULL column hold for no row */
		if (is_resource(q->col) && !detailed)
			return false;
		appendStringInfoString(sql, first ? " WHERE " : " AND ");
		first = false;
		if (is_time(q->col))
		{
			TimestampTz t = qual_timestamptz(q);

			/* beyond BigQuery's range, the comparison is known */
			if (TIMESTAMP_NOT_FINITE(t) || t + UNIX_EPOCH_USECS < BQ_MIN_TIMESTAMP ||
				t + UNIX_EPOCH_USECS > BQ_MAX_TIMESTAMP)
			{
				bool		high = TIMESTAMP_IS_NOEND(t) || (!TIMESTAMP_NOT_FINITE(t) && t > 0);
				bool		holds = high ? (q->op == FU_OP_LT || q->op == FU_OP_LE || q->op == FU_OP_NE) :
					(q->op == FU_OP_GT || q->op == FU_OP_GE || q->op == FU_OP_NE);

				if (!holds)
					return false;
				appendStringInfo(sql, "%s IS NOT NULL", col);
				continue;
			}
			appendStringInfo(sql, "%s %s @p%d", col, sql_ops[q->op], *nparams);
			if (q->col == COL_USAGE_START_TIME &&
				(q->op == FU_OP_GT || q->op == FU_OP_GE || q->op == FU_OP_EQ) &&
				t > lower)
			{
				lower = t;
				lower_param = *nparams;
			}
			add_param(params, nparams, "TIMESTAMP", list_make1(timestamp_text(t)), false);
		}
		else if (q->op == FU_OP_IN || q->op == FU_OP_NOT_IN)
		{
			List	   *vals = fu_qual_strings(q);

			if (vals == NIL)
			{
				/* IN (): nothing; NOT IN (): every non-NULL value */
				if (q->op == FU_OP_IN)
					return false;
				appendStringInfo(sql, "%s IS NOT NULL", col);
				continue;
			}
			appendStringInfo(sql, "%s %s UNNEST(@p%d)", col,
							 q->op == FU_OP_IN ? "IN" : "NOT IN", *nparams);
			add_param(params, nparams, "STRING", vals, true);
		}
		else
		{
			appendStringInfo(sql, "%s %s @p%d", col, sql_ops[q->op], *nparams);
			add_param(params, nparams, "STRING", fu_qual_strings(q), false);
		}
	}
	if (lower_param >= 0)
		appendStringInfo(sql, " AND _PARTITIONTIME >= TIMESTAMP_SUB(@p%d, INTERVAL 1 DAY)",
						 lower_param);
	return true;
}

static void
add_item(BqState *st, FuUpperKind kind, int col)
{
	BqItem	   *it = &st->items[st->nitems++];

	it->kind = kind;
	it->col = col;
	it->cell = st->ncells;
	st->ncells += (kind == FU_UPPER_AVG) ? 2 : 1;
}

/*
 * The SELECT list of the items; result names are unique, as BigQuery wants.
 * The standard export's resource columns are a typed NULL: a group of
 * them is one group, as PostgreSQL makes it.
 */
static void
select_list(BqState *st, StringInfo sql)
{
	Bitmapset  *named = NULL;

	appendStringInfoString(sql, "SELECT ");
	for (int i = 0; i < st->nitems; i++)
	{
		BqItem	   *it = &st->items[i];
		const char *name = it->col >= 0 ? cost_columns[it->col].name : "rows";
		const char *expr = it->col < 0 ? NULL :
			(is_resource(it->col) && !st->detailed) ? "CAST(NULL AS STRING)" :
			column_sql[it->col];

		if (i > 0)
			appendStringInfoString(sql, ", ");
		switch (it->kind)
		{
			case FU_UPPER_GROUP:
			case FU_UPPER_GROUP_MONTH:
				if (bms_is_member(it->col, named))
					appendStringInfo(sql, "%s AS %s_%d", expr, name, i);
				else
					appendStringInfo(sql, "%s AS %s", expr, name);
				named = bms_add_member(named, it->col);
				break;
			case FU_UPPER_GROUP_UTC_DAY:
				appendStringInfo(sql, "DATE(%s) AS %s_day_%d", expr, name, i);
				break;
			case FU_UPPER_COUNT_STAR:
				appendStringInfo(sql, "COUNT(*) AS count_%d", i);
				break;
			case FU_UPPER_AVG:
				/* PostgreSQL divides the exact sum: so does the scan */
				appendStringInfo(sql, "SUM(%s) AS avg_%s_%d_sum, COUNT(%s) AS avg_%s_%d_count",
								 expr, name, i, expr, name, i);
				break;
			default:
				appendStringInfo(sql, "%s(%s) AS %s_%s_%d", agg_sql(it->kind), expr,
								 fu_upper_name(it->kind), name, i);
				break;
		}
	}
	/* count(*) of a plain scan reads no column: one cell per row */
	if (st->nitems == 0)
		appendStringInfoString(sql, "1 AS one");
}

static void
cost_begin(FuScan *scan)
{
	BqState    *st = palloc0(sizeof(BqState));
	char	   *table = fu_get_option(scan->server->options, "billing_table");
	StringInfoData sql;
	StringInfoData params;
	StringInfoData body;
	int			nparams = 0;
	int			ngroups = 0;
	uint8		rid[16];
	char	   *cache_body;
	ListCell   *lc;
	FuRequest  *req;

	scan->pstate = st;
	st->detailed = detailed_export(scan->server);
	st->project = fu_gcp_project(scan->server);
	st->base = fu_base_url(scan->server, GCP_BIGQUERY_HOST);
	if (table == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
				 errmsg("server \"%s\" has no billing_table", scan->server->servername)));

	st->items = palloc0(sizeof(BqItem) * (NUM_COLS + list_length(scan->upper) + 1));
	if (scan->upper != NIL)
	{
		foreach(lc, scan->upper)
		{
			FuUpperItem *u = (FuUpperItem *) lfirst(lc);

			add_item(st, u->kind, u->col);
			if (FU_UPPER_IS_GROUP(u))
				ngroups++;
		}
	}
	else
	{
		int			c = -1;

		/* a column the table lacks is not asked for: its cells stay NULL */
		while ((c = bms_next_member(scan->needed, c)) >= 0)
			if (st->detailed || !is_resource(c))
				add_item(st, FU_UPPER_GROUP, c);
	}

	initStringInfo(&sql);
	initStringInfo(&params);
	select_list(st, &sql);
	/* the option was checked: project.dataset.table of plain names */
	appendStringInfo(&sql, " FROM `%s`", table);
	if (!where_clause(scan, &sql, &params, &nparams))
		return;
	if (scan->upper != NIL && ngroups > 0)
	{
		appendStringInfoString(&sql, " GROUP BY ");
		for (int i = 0; i < ngroups; i++)
			appendStringInfo(&sql, "%s%d", i > 0 ? ", " : "", i + 1);
	}
	if (st->ncells == 0)
		st->ncells = 1;

	initStringInfo(&body);
	appendStringInfoString(&body, "{\"query\":");
	escape_json(&body, sql.data);
	appendStringInfoString(&body, ",\"useLegacySql\":false");
	if (nparams > 0)
		appendStringInfo(&body, ",\"parameterMode\":\"NAMED\",\"queryParameters\":[%s]",
						 params.data);
	appendStringInfoString(&body, ",\"formatOptions\":{\"useInt64Timestamp\":true}");
	appendStringInfoString(&body, ",\"timeoutMs\":10000");

	/*
	 * A retry of the POST (a timeout, a 5xx after the job was made) must not
	 * run and bill the query again: BigQuery answers a requestId it has seen
	 * in the last 15 minutes with that job.
	 */
	/* the cache keys the query without it */
	cache_body = psprintf("%s}", body.data);
	if (pg_strong_random(rid, sizeof(rid)))
	{
		appendStringInfoString(&body, ",\"requestId\":\"");
		for (int i = 0; i < (int) sizeof(rid); i++)
			appendStringInfo(&body, "%02x", rid[i]);
		appendStringInfoChar(&body, '"');
	}
	appendStringInfoChar(&body, '}');

	req = fu_request_new(scan, "BigQuery jobs.query", "POST", st->base,
						 psprintf("bigquery/v2/projects/%s/queries",
								  fu_url_encode(st->project)));
	fu_request_body(req, "application/json", body.data, body.len);
	req->cache_body = cache_body;
	/* BigQuery bills the bytes a query scans, not its calls */
	req->billable = false;
}

/* ---------- page parsing ---------- */

enum
{
	F_rows,
	F_f,
	F_v,
	F_jobComplete,
	F_jobReference,
	F_jobId,
	F_location,
	F_pageToken,
	F_totalBytesProcessed,
	F_totalBytesBilled,
	F_schema,
	F_fields,
	F_name,
};

static const char *const bq_names[] = {
	"rows", "f", "v", "jobComplete", "jobReference", "jobId", "location",
	"pageToken", "totalBytesProcessed", "totalBytesBilled", "schema",
	"fields", "name", NULL
};

static void
bq_object_start(void *arg, FuJsonWalk *w)
{
	BqState    *st = (BqState *) arg;

	/* a row: {"f": [cell, ...]} */
	if (w->depth == 3 && fu_walk_at(w, 1, F_rows))
	{
		int			need = (st->nrows + 1) * st->ncells;

		if (need > st->maxcells)
		{
			st->maxcells = Max(need, st->maxcells * 2);
			st->cells = st->cells ? repalloc(st->cells, sizeof(char *) * st->maxcells) :
				palloc(sizeof(char *) * st->maxcells);
		}
		memset(st->cells + st->nrows * st->ncells, 0, sizeof(char *) * st->ncells);
		st->nrows++;
		st->ncell_row = 0;
	}
	else if (w->depth == 5 && fu_walk_at(w, 1, F_rows) && fu_walk_at(w, 3, F_f))
	{
		if (st->ncell_row++ >= st->ncells)
			fu_walk_malformed(w, "A row has more cells than the query selects.");
	}
	else if (w->depth == 4 && fu_walk_at(w, 1, F_schema) && fu_walk_at(w, 2, F_fields))
		st->nfields++;
}

static void
bq_object_end(void *arg, FuJsonWalk *w)
{
	BqState    *st = (BqState *) arg;

	if (w->depth == 3 && fu_walk_at(w, 1, F_rows) && st->ncell_row != st->ncells)
		fu_walk_malformed(w, "A row has fewer cells than the query selects.");
}

static void
bq_scalar(void *arg, FuJsonWalk *w, char *tok, FuJsonToken type)
{
	BqState    *st = (BqState *) arg;

	if (w->depth == 1)
	{
		if (fu_walk_at(w, 1, F_jobComplete))
		{
			if (type != FU_JSON_TRUE && type != FU_JSON_FALSE)
				fu_walk_malformed(w, "jobComplete is not a boolean.");
			st->complete_seen = true;
			st->complete = (type == FU_JSON_TRUE);
		}
		else if (type != FU_JSON_STRING)
			return;
		else if (fu_walk_at(w, 1, F_pageToken) && tok[0])
			st->page_token = tok;
		else if (fu_walk_at(w, 1, F_totalBytesProcessed))
			st->page_bytes = tok;
		else if (fu_walk_at(w, 1, F_totalBytesBilled))
			st->page_bytes_billed = tok;
	}
	else if (w->depth == 2 && fu_walk_at(w, 1, F_jobReference) && type == FU_JSON_STRING)
	{
		if (fu_walk_at(w, 2, F_jobId))
			st->job_id = tok;
		else if (fu_walk_at(w, 2, F_location))
			st->location = tok;
	}
	else if (w->depth == 5 && fu_walk_at(w, 1, F_rows) && fu_walk_at(w, 3, F_f) &&
			 fu_walk_at(w, 5, F_v))
	{
		/* a scalar cell: a string, or null */
		if (type == FU_JSON_STRING)
			st->cells[(st->nrows - 1) * st->ncells + st->ncell_row - 1] = tok;
		else if (type != FU_JSON_NULL)
			fu_walk_malformed(w, "A cell is neither a string nor null.");
	}
}

static const FuJsonHandlers bq_handlers = {
	.names = bq_names,
	.object_start = bq_object_start,
	.object_end = bq_object_end,
	.scalar = bq_scalar,
};

/* GET .../queries/{jobId}: the job's state, or a page of its result */
static char *
results_url(BqState *st, FuRequest *req, const char *token)
{
	StringInfoData url;

	initStringInfo(&url);
	appendStringInfo(&url, "%sbigquery/v2/projects/%s/queries/%s?", st->base,
					 fu_url_encode(st->project), fu_url_encode(st->job_id));
	if (st->location)
		appendStringInfo(&url, "location=%s&", fu_url_encode(st->location));
	if (token)
		appendStringInfo(&url, "pageToken=%s&", fu_url_encode(token));
	appendStringInfoString(&url, "timeoutMs=10000&formatOptions.useInt64Timestamp=true");
	return url.data;
}

static int64
parse_int64(FuRequest *req, const char *what, const char *s)
{
	char	   *end;
	int64		v;

	errno = 0;
	v = strtoi64(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0)
		fu_json_malformed(req->label, psprintf("%s \"%s\" is not a non-negative integer.",
											   what, fu_api_text(s)));
	return v;
}

static void
cost_parse_page(FuScan *scan, FuRequest *req, char *body, size_t len)
{
	BqState    *st = (BqState *) scan->pstate;

	st->req = req;
	st->cells = NULL;
	st->nrows = st->maxcells = st->cur = st->ncell_row = st->nfields = 0;
	st->complete = st->complete_seen = false;
	st->page_token = st->page_bytes = st->page_bytes_billed = NULL;
	fu_parse_json_events(req->label, body, len, &bq_handlers, st);

	if (!st->complete_seen)
		fu_json_malformed(req->label, "The response does not say whether the job is complete.");
	if (st->job_id == NULL && (!st->complete || st->page_token))
		fu_json_malformed(req->label, "The response names no job to ask again.");
	if (st->complete && st->nfields != st->ncells)
		fu_json_malformed(req->label,
						  psprintf("The result has %d columns; the query selects %d.",
								   st->nfields, st->ncells));
	/* pages and polls of one job: copies outlive the page */
	if (st->job_id)
	{
		MemoryContext old = MemoryContextSwitchTo(scan->req_cxt);

		st->job_id = pstrdup(st->job_id);
		st->location = st->location ? pstrdup(st->location) : NULL;
		MemoryContextSwitchTo(old);
	}
	if (st->page_bytes && !scan->replaying && req->pages == 0 && st->complete)
	{
		st->bytes += parse_int64(req, "totalBytesProcessed", st->page_bytes);
		if (st->page_bytes_billed)
		{
			int64		billed = parse_int64(req, "totalBytesBilled", st->page_bytes_billed);

			st->bytes_billed += billed;
			/* on-demand list price: USD 6.25 per TiB */
			req->page_cost = billed * (6.25 / 1099511627776.0);
		}
	}

	if (!st->complete)
	{
		/* BigQuery holds the GET up to timeoutMs: poll again at once */
		fu_next_poll(req, "GET", results_url(st, req, NULL),
					 Min(10 << Min(st->polls, 6), 500));
		st->polls++;
	}
	else if (st->page_token)
		fu_next_page(req, "GET", results_url(st, req, st->page_token),
					 st->page_token);
}

/* labels: [{"key": "env", "value": "prod"}] as {"env": "prod"} */
typedef struct LabelsState
{
	StringInfoData out;
	char	   *key;
	char	   *value;
} LabelsState;

enum
{
	L_key, L_value
};
static const char *const label_names[] = {"key", "value", NULL};

static void
labels_scalar(void *arg, FuJsonWalk *w, char *tok, FuJsonToken type)
{
	LabelsState *ls = (LabelsState *) arg;

	if (w->depth != 2 || type != FU_JSON_STRING)
		return;
	if (fu_walk_at(w, 2, L_key))
		ls->key = tok;
	else if (fu_walk_at(w, 2, L_value))
		ls->value = tok;
}

static void
labels_object_end(void *arg, FuJsonWalk *w)
{
	LabelsState *ls = (LabelsState *) arg;

	if (w->depth != 2 || ls->key == NULL)
		return;
	appendStringInfoString(&ls->out, ls->out.len > 1 ? ", " : "");
	escape_json(&ls->out, ls->key);
	appendStringInfoString(&ls->out, ": ");
	if (ls->value)
		escape_json(&ls->out, ls->value);
	else
		appendStringInfoString(&ls->out, "null");
	ls->key = ls->value = NULL;
}

static const FuJsonHandlers labels_handlers = {
	.names = label_names,
	.object_end = labels_object_end,
	.scalar = labels_scalar,
};

static Datum
labels_datum(FuRequest *req, char *s)
{
	LabelsState ls;

	memset(&ls, 0, sizeof(ls));
	initStringInfo(&ls.out);
	appendStringInfoChar(&ls.out, '{');
	fu_parse_json_events(req->label, s, strlen(s), &labels_handlers, &ls);
	appendStringInfoChar(&ls.out, '}');
	/* keys and values are UTF-8, as the API's; jsonb_in reads the server's */
	return DirectFunctionCall1(jsonb_in,
							   CStringGetDatum(pg_any_to_server(ls.out.data, ls.out.len,
																PG_UTF8)));
}

/* A TIMESTAMP cell: int64 microseconds (asked for), or float seconds */
static TimestampTz
timestamp_cell(FuRequest *req, const char *s)
{
	char	   *end;
	int64		us;

	errno = 0;
	us = strtoi64(s, &end, 10);
	if (*end != '\0' || end == s || errno != 0)
	{
		double		secs = strtod(s, &end);

		if (*end != '\0' || end == s || isnan(secs) || fabs(secs) > 3e11)
			fu_json_malformed(req->label, psprintf("The timestamp \"%s\" is not a number.",
												   fu_api_text(s)));
		us = (int64) llround(secs * USECS_PER_SEC);
	}
	if (us < BQ_MIN_TIMESTAMP || us > BQ_MAX_TIMESTAMP)
		fu_json_malformed(req->label, psprintf("The timestamp \"%s\" is out of range.",
											   fu_api_text(s)));
	return us - UNIX_EPOCH_USECS;
}

static Datum
cell_datum(BqState *st, int col, char *s)
{
	switch (col)
	{
		case COL_USAGE_START_TIME:
		case COL_USAGE_END_TIME:
			return TimestampTzGetDatum(timestamp_cell(st->req, s));
		case COL_COST:
		case COL_CREDITS:
		case COL_NET_COST:
		case COL_USAGE_AMOUNT:
		case COL_COST_AT_LIST:
		case COL_PRICING_QUANTITY:
			return fu_numeric_datum(s, cost_columns[col].name);
		case COL_LABELS:
			return labels_datum(st->req, s);
		default:
			return fu_text_datum(s);
	}
}

static bool
cost_next_row(FuScan *scan, Datum *values, bool *nulls)
{
	BqState    *st = (BqState *) scan->pstate;
	char	  **row;

	if (st->cur >= st->nrows)
		return false;
	row = st->cells + st->cur++ * st->ncells;
	for (int i = 0; i < st->nitems; i++)
	{
		BqItem	   *it = &st->items[i];
		char	   *s = row[it->cell];
		int			out = scan->upper != NIL ? i : it->col;

		nulls[out] = (s == NULL);
		if (s == NULL && it->kind != FU_UPPER_AVG)
			continue;
		switch (it->kind)
		{
			case FU_UPPER_COUNT_STAR:
			case FU_UPPER_COUNT:
				values[out] = Int64GetDatum(parse_int64(st->req, "The count", s));
				break;
			case FU_UPPER_AVG:
				{
					char	   *n = row[it->cell + 1];

					/* avg of no value is NULL, as sum/count would divide by 0 */
					nulls[out] = (s == NULL || n == NULL ||
								  parse_int64(st->req, "The count", n) == 0);
					if (!nulls[out])
						values[out] = DirectFunctionCall2(numeric_div,
														  fu_numeric_datum(s, cost_columns[it->col].name),
														  DirectFunctionCall1(int8_numeric,
																			  Int64GetDatum(parse_int64(st->req, "The count", n))));
					break;
				}
			case FU_UPPER_GROUP_UTC_DAY:
				{
					DateADT		d;

					if (!fu_parse_date(s, &d))
						fu_json_malformed(st->req->label,
										  psprintf("The date \"%s\" is not a date.",
												   fu_api_text(s)));
					values[out] = DateADTGetDatum(d);
					break;
				}
			default:
				values[out] = cell_datum(st, it->col, s);
				break;
		}
	}
	return true;
}

static void
cost_explain(FuScan *scan, ExplainState *es)
{
	BqState    *st = (BqState *) scan->pstate;

	if (st && es->analyze)
	{
		ExplainPropertyInteger("BigQuery bytes processed", NULL, st->bytes, es);
		ExplainPropertyInteger("BigQuery bytes billed", NULL, st->bytes_billed, es);
	}
}

const FuSource fu_source_gcp_cost = {
	.name = "gcp_cost",
	.api = "Google BigQuery jobs.query (Cloud Billing export)",
	.columns = cost_columns,
	.ncolumns = NUM_COLS,
	.call_price = 0,
	.paged = true,
	.classify_qual = cost_classify_qual,
	.plan = cost_plan,
	.aggregates = cost_aggregates,
	.begin = cost_begin,
	.parse_page = cost_parse_page,
	.next_row = cost_next_row,
	.explain = cost_explain,
};
