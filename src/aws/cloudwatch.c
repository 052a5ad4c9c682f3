/*-------------------------------------------------------------------------
 *
 * cloudwatch.c
 *		  The CloudWatch calls of aws_metrics (AWS JSON 1.0, query
 *		  compatible): ListMetrics to discover series, GetMetricData to
 *		  fetch their datapoints, and the parsing of their pages.
 *
 * Each series × statistic is a MetricDataQuery; up to 500 go in one
 * GetMetricData call, and NextToken pages past 100,800 datapoints.  Regions
 * and batches are independent requests, so the engine runs them
 * concurrently; the requests of one region are signed for that region.
 * Discovered series are sorted before they are batched, so the requests do
 * not depend on the order in which ListMetrics answers arrive.
 *
 * GetMetricData returns no units: the unit column comes from a table of the
 * metrics AWS documents, NULL for others.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "metrics.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"

#define MAX_QUERIES_PER_CALL 500
#define MAX_DATAPOINTS_PER_CALL 100800
#define CW_TARGET "GraniteServiceVersion20100801."
/* seconds from the Unix epoch to PostgreSQL's */
#define CW_UNIX_EPOCH_SECS \
	((double) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY)

static int
dim_cmp(const void *a, const void *b)
{
	return strcmp(((const Dim *) a)->name, ((const Dim *) b)->name);
}

/* A series, with its column values computed once */
Series *
fu_cw_series(Region *region, const ResourceType *type,
			 const char *namespace, const char *metric, List *dims)
{
	Series	   *s = palloc0(sizeof(Series));
	StringInfoData js;
	ListCell   *lc;
	const char *unit = fu_cw_unit(namespace, metric);

	s->namespace = pstrdup(namespace);
	s->metric = pstrdup(metric);
	s->ndims = list_length(dims);
	s->dims = palloc(sizeof(Dim) * Max(s->ndims, 1));
	foreach(lc, dims)
	{
		Dim		   *d = (Dim *) lfirst(lc);

		s->dims[foreach_current_index(lc)].name = pstrdup(d->name);
		s->dims[foreach_current_index(lc)].value = pstrdup(d->value);
	}
	qsort(s->dims, s->ndims, sizeof(Dim), dim_cmp);
	if (type == NULL)
		type = fu_cw_type_of_namespace(namespace);
	for (int i = 0; type && i < s->ndims; i++)
		if (strcmp(s->dims[i].name, type->key) == 0)
		{
			s->type = type;
			s->resource_id = s->dims[i].value;
		}

	initStringInfo(&js);
	appendStringInfoChar(&js, '{');
	for (int i = 0; i < s->ndims; i++)
	{
		if (i > 0)
			appendStringInfoString(&js, ", ");
		escape_json(&js, s->dims[i].name);
		appendStringInfoString(&js, ": ");
		escape_json(&js, s->dims[i].value);
	}
	appendStringInfoChar(&js, '}');
	/* names and values are UTF-8, as the API's; jsonb_in reads the server's */
	s->d_dims = DirectFunctionCall1(jsonb_in,
									CStringGetDatum(pg_any_to_server(js.data, js.len,
																	 PG_UTF8)));
	s->d_region = fu_text_datum(region->name);
	s->d_namespace = fu_text_datum(s->namespace);
	s->d_metric = fu_text_datum(s->metric);
	s->d_type = s->type ? CStringGetTextDatum(s->type->name) : (Datum) 0;
	s->d_id = s->resource_id ? fu_text_datum(s->resource_id) : (Datum) 0;
	s->d_unit = unit ? CStringGetTextDatum(unit) : (Datum) 0;
	region->series = lappend(region->series, s);
	return s;
}

Dim *
fu_cw_dim(const char *name, const char *value)
{
	Dim		   *d = palloc(sizeof(Dim));

	d->name = pstrdup(name);
	d->value = pstrdup(value);
	return d;
}

/* A CloudWatch call of a region, signed for it */
static FuRequest *
cw_request(FuScan *scan, Region *region, const char *operation,
		   const char *label, const char *body)
{
	FuRequest  *req = fu_request_new(scan, label, "POST",
									 fu_base_url(scan->server,
												 psprintf("monitoring.%s.amazonaws.com",
														  region->name)),
									 "/");

	req->scope = psprintf("monitoring/%s", region->name);
	req->explain_tag = region->name;
	fu_request_header(req, "X-Amz-Target", psprintf(CW_TARGET "%s", operation));
	/* query-compatible: the legacy error codes the documentation uses */
	fu_request_header(req, "x-amzn-query-mode", "true");
	fu_request_body(req, "application/x-amz-json-1.0", body, strlen(body));
	return req;
}

/* Series in a fixed order: namespace, metric, then dimensions */
static int
series_cmp(const ListCell *a, const ListCell *b)
{
	const Series *x = (const Series *) lfirst(a);
	const Series *y = (const Series *) lfirst(b);
	int			r;

	if ((r = strcmp(x->namespace, y->namespace)) != 0 ||
		(r = strcmp(x->metric, y->metric)) != 0)
		return r;
	for (int i = 0; i < x->ndims && i < y->ndims; i++)
		if ((r = strcmp(x->dims[i].name, y->dims[i].name)) != 0 ||
			(r = strcmp(x->dims[i].value, y->dims[i].value)) != 0)
			return r;
	return x->ndims - y->ndims;
}

static void
append_query(StringInfo body, int id, Series *s, int period, const char *stat)
{
	appendStringInfo(body, "{\"Id\":\"m%d\",\"MetricStat\":{\"Metric\":{\"Namespace\":", id);
	escape_json(body, s->namespace);
	appendStringInfoString(body, ",\"MetricName\":");
	escape_json(body, s->metric);
	appendStringInfoString(body, ",\"Dimensions\":[");
	for (int d = 0; d < s->ndims; d++)
	{
		appendStringInfoString(body, d > 0 ? ",{\"Name\":" : "{\"Name\":");
		escape_json(body, s->dims[d].name);
		appendStringInfoString(body, ",\"Value\":");
		escape_json(body, s->dims[d].value);
		appendStringInfoChar(body, '}');
	}
	appendStringInfo(body, "]},\"Period\":%d,\"Stat\":", period);
	escape_json(body, stat);
	appendStringInfoString(body, "},\"ReturnData\":true}");
}

/* GetMetricData requests for the series of a region, 500 queries each */
void
fu_cw_data_requests(FuScan *scan, MState *st, Region *region)
{
	int			total = list_length(region->series) * st->nstats;
	int64		points = Max((st->end - st->start + st->period - 1) / st->period, 1);
	int			per_call;
	int			nbatches;
	int			q = 0;

	list_sort(region->series, series_cmp);

	/*
	 * A NextToken page bills every metric of the call again, so a call takes
	 * only as many queries as fit in one page of 100,800 datapoints.
	 */
	per_call = (int) Max(Min(MAX_QUERIES_PER_CALL, MAX_DATAPOINTS_PER_CALL / points), 1);
	nbatches = (total + per_call - 1) / per_call;
	for (int b = 0; b < nbatches; b++)
	{
		int			n = Min(per_call, total - b * per_call);
		ReqInfo    *ri = palloc0(sizeof(ReqInfo));
		StringInfoData body;
		FuRequest  *req;

		ri->region = region;
		ri->nqueries = n;
		ri->queries = palloc(sizeof(MetricQuery) * n);
		initStringInfo(&body);
		appendStringInfoString(&body, "{\"MetricDataQueries\":[");
		for (int i = 0; i < n; i++, q++)
		{
			Series	   *s = (Series *) list_nth(region->series, q / st->nstats);
			int			stat = q % st->nstats;

			ri->queries[i].series = s;
			ri->queries[i].stat = stat;
			if (i > 0)
				appendStringInfoChar(&body, ',');
			append_query(&body, i, s, st->period, st->stats[stat]);
		}
		appendStringInfo(&body, "],\"StartTime\":" INT64_FORMAT ",\"EndTime\":" INT64_FORMAT ",\"ScanBy\":\"TimestampAscending\"}",
						 st->start, st->end);
		req = cw_request(scan, region, "GetMetricData",
						 nbatches > 1 ?
						 psprintf("AWS CloudWatch GetMetricData in %s (batch %d of %d)",
								  region->name, b + 1, nbatches) :
						 psprintf("AWS CloudWatch GetMetricData in %s", region->name),
						 body.data);
		req->pdata = ri;
		/* list price: USD 0.01 per 1,000 metrics requested */
		req->price = n * 0.00001;
		st->nqueries += n;
	}
}

/* A ListMetrics request of a region: a namespace, a metric name or both */
void
fu_cw_list_request(FuScan *scan, MState *st, Region *region,
				   const ResourceType *type, const char *namespace,
				   const char *metric)
{
	StringInfoData body;
	ReqInfo    *ri = palloc0(sizeof(ReqInfo));
	FuRequest  *req;
	bool		first = true;

	initStringInfo(&body);
	appendStringInfoChar(&body, '{');
	if (namespace)
	{
		appendStringInfoString(&body, "\"Namespace\":");
		escape_json(&body, namespace);
		first = false;
	}
	if (metric)
	{
		appendStringInfoString(&body, first ? "\"MetricName\":" : ",\"MetricName\":");
		escape_json(&body, metric);
		first = false;
	}
	if (type)
	{
		/* only the per-resource series, not the aggregates */
		appendStringInfoString(&body, first ? "\"Dimensions\":[{\"Name\":" : ",\"Dimensions\":[{\"Name\":");
		escape_json(&body, type->key);
		if (list_length(st->resource_ids) == 1)
		{
			appendStringInfoString(&body, ",\"Value\":");
			escape_json(&body, (char *) linitial(st->resource_ids));
		}
		appendStringInfoString(&body, "}]");
	}
	appendStringInfoChar(&body, '}');

	ri->region = region;
	ri->type = type;
	req = cw_request(scan, region, "ListMetrics",
					 psprintf("AWS CloudWatch ListMetrics in %s", region->name),
					 body.data);
	req->pdata = ri;
	/* list price: USD 0.01 per 1,000 requests (beyond the free tier) */
	req->price = 0.00001;
	req->discovery = true;
	st->discovery = true;
	region->discovering++;
}

/* ---------- page parsing ---------- */

/* the JSON field names the page handlers look for */
enum
{
	F_MetricDataResults,
	F_NextToken,
	F_Id,
	F_StatusCode,
	F_Timestamps,
	F_Values,
	F_Metrics,
	F_Dimensions,
	F_Namespace,
	F_MetricName,
	F_Name,
	F_Value,
};

static const char *const cw_names[] = {
	"MetricDataResults",
	"NextToken",
	"Id",
	"StatusCode",
	"Timestamps",
	"Values",
	"Metrics",
	"Dimensions",
	"Namespace",
	"MetricName",
	"Name",
	"Value",
	NULL
};


/* GetMetricData: {"MetricDataResults":[{"Id","Timestamps":[],"Values":[],...}]} */
static void
gmd_object_start(void *arg, FuJsonWalk *w)
{
	MState	   *st = (MState *) arg;

	if (w->depth == 3 && fu_walk_at(w, 1, F_MetricDataResults))
	{
		st->result_start = st->npoints;
		st->result_nts = 0;
		st->result_nvals = 0;
		st->result_id = NULL;
		st->result_status = NULL;
	}
}

static void
gmd_object_end(void *arg, FuJsonWalk *w)
{
	MState	   *st = (MState *) arg;
	ReqInfo    *ri = (ReqInfo *) st->page_req->pdata;

	if (w->depth == 3 && fu_walk_at(w, 1, F_MetricDataResults))
	{
		int			q;
		char	   *end;

		if (st->result_nts != st->result_nvals)
			fu_json_malformed(st->page_req->label, "A result has different numbers of Timestamps and Values.");
		if (st->result_id == NULL || st->result_id[0] != 'm' ||
			!isdigit((unsigned char) st->result_id[1]) ||
			(q = (int) strtol(st->result_id + 1, &end, 10)) < 0 || *end != '\0' ||
			q >= ri->nqueries)
			fu_json_malformed(st->page_req->label, psprintf("A result has an unknown Id \"%s\".",
											 st->result_id ? fu_api_text(st->result_id) : ""));
		if (st->result_status &&
			(strcmp(st->result_status, "Forbidden") == 0 ||
			 strcmp(st->result_status, "InternalError") == 0))
			ereport(ERROR,
					(errcode(ERRCODE_FDW_ERROR),
					 errmsg("%s returned status %s for metric %s", st->page_req->label,
							fu_api_text(st->result_status),
							fu_api_text(ri->queries[q].series->metric)),
					 st->result_status[0] == 'F' ?
					 errhint("The credentials need the cloudwatch:GetMetricData permission.") : 0));
		for (int i = st->result_start; i < st->npoints; i++)
			st->qidx[i] = q;
	}
}

/* Make room for point idx; Timestamps and Values pair by index */
static void
use_point(MState *st, int idx)
{
	if (idx < st->npoints)
		return;
	st->npoints = idx + 1;
	if (idx < st->maxpoints)
		return;
	st->maxpoints = st->maxpoints ? st->maxpoints * 2 : 4096;
	if (st->ts == NULL)
	{
		st->ts = palloc(sizeof(double) * st->maxpoints);
		st->vals = palloc(sizeof(double) * st->maxpoints);
		st->qidx = palloc(sizeof(int) * st->maxpoints);
	}
	else
	{
		st->ts = repalloc(st->ts, sizeof(double) * st->maxpoints);
		st->vals = repalloc(st->vals, sizeof(double) * st->maxpoints);
		st->qidx = repalloc(st->qidx, sizeof(int) * st->maxpoints);
	}
}

static double
json_number(MState *st, char *token, FuJsonToken type)
{
	char	   *end;
	double		d;

	if (type != FU_JSON_NUMBER)
		fu_json_malformed(st->page_req->label, "A timestamp or value is not a number.");
	d = strtod(token, &end);
	if (*end != '\0')
		fu_json_malformed(st->page_req->label, psprintf("\"%s\" is not a number.", token));
	return d;
}

static void
gmd_scalar(void *arg, FuJsonWalk *w, char *token, FuJsonToken type)
{
	MState	   *st = (MState *) arg;

	if (w->depth == 1)
	{
		if (fu_walk_at(w, 1, F_NextToken) && type == FU_JSON_STRING)
			st->next_token = token;
		return;
	}
	if (!fu_walk_at(w, 1, F_MetricDataResults))
		return;
	if (w->depth == 3)
	{
		if (fu_walk_at(w, 3, F_Id) && type == FU_JSON_STRING)
			st->result_id = token;
		else if (fu_walk_at(w, 3, F_StatusCode) && type == FU_JSON_STRING)
			st->result_status = token;
	}
	else if (w->depth == 4 && fu_walk_at(w, 3, F_Timestamps))
	{
		int			idx = st->result_start + st->result_nts++;
		double		t = json_number(st, token, type);

		/* epoch seconds a timestamptz holds: 1e300 must not become -infinity */
		if (!(t >= (double) MIN_TIMESTAMP / USECS_PER_SEC + CW_UNIX_EPOCH_SECS &&
			  t < (double) END_TIMESTAMP / USECS_PER_SEC + CW_UNIX_EPOCH_SECS))
			fu_json_malformed(st->page_req->label,
							  psprintf("The timestamp %s is out of range.",
									   fu_api_text(token)));
		use_point(st, idx);
		st->ts[idx] = t;
	}
	else if (w->depth == 4 && fu_walk_at(w, 3, F_Values))
	{
		int			idx = st->result_start + st->result_nvals++;

		use_point(st, idx);
		st->vals[idx] = json_number(st, token, type);
	}
}

/* ListMetrics: {"Metrics":[{"Namespace","MetricName","Dimensions":[{"Name","Value"}]}]} */
static void
lm_object_start(void *arg, FuJsonWalk *w)
{
	MState	   *st = (MState *) arg;

	if (w->depth == 3 && fu_walk_at(w, 1, F_Metrics))
	{
		st->lm_namespace = NULL;
		st->lm_metric = NULL;
		st->lm_dims = NIL;
	}
	else if (w->depth == 5 && fu_walk_at(w, 1, F_Metrics) && fu_walk_at(w, 3, F_Dimensions))
	{
		st->lm_dim = palloc0(sizeof(Dim));
		st->lm_dims = lappend(st->lm_dims, st->lm_dim);
	}
}

/* Is a discovered series one this scan asked for? */
static bool
wanted_series(MState *st, ReqInfo *ri)
{
	ListCell   *lc;
	const ResourceType *t = ri->type;
	char	   *id = NULL;

	if (st->lm_namespace == NULL || st->lm_metric == NULL)
		return false;
	if (st->namespaces != NIL && !fu_string_member(st->namespaces, st->lm_namespace))
		return false;
	if (st->metric_names != NIL && !fu_string_member(st->metric_names, st->lm_metric))
		return false;
	if (t == NULL)
		t = fu_cw_type_of_namespace(st->lm_namespace);
	foreach(lc, st->lm_dims)
	{
		Dim		   *d = (Dim *) lfirst(lc);

		if (d->name == NULL || d->value == NULL)
			return false;
		if (t && strcmp(d->name, t->key) == 0)
			id = d->value;
		else if (ri->type && strcmp(d->name, "StorageType") != 0)
			return false;		/* an aggregate over other dimensions */
	}
	if (ri->type)
	{
		bool		known = false;

		if (id == NULL)
			return false;
		if (st->metric_names == NIL)
		{
			for (const char *const *m = ri->type->metrics; *m; m++)
				if (strcmp(*m, st->lm_metric) == 0)
					known = true;
			if (!known)
				return false;
		}
	}
	if (st->resource_ids != NIL && (id == NULL || !fu_string_member(st->resource_ids, id)))
		return false;
	return true;
}

static void
lm_object_end(void *arg, FuJsonWalk *w)
{
	MState	   *st = (MState *) arg;

	if (w->depth == 3 && fu_walk_at(w, 1, F_Metrics))
	{
		ReqInfo    *ri = (ReqInfo *) st->page_req->pdata;

		if (wanted_series(st, ri))
		{
			/* series outlive the page */
			MemoryContext old = MemoryContextSwitchTo(st->page_req->scan->req_cxt);

			fu_cw_series(ri->region, ri->type, st->lm_namespace,
						 st->lm_metric, st->lm_dims);
			MemoryContextSwitchTo(old);
		}
	}
}

static void
lm_scalar(void *arg, FuJsonWalk *w, char *token, FuJsonToken type)
{
	MState	   *st = (MState *) arg;

	if (w->depth == 1)
	{
		if (fu_walk_at(w, 1, F_NextToken) && type == FU_JSON_STRING)
			st->next_token = token;
		return;
	}
	if (!fu_walk_at(w, 1, F_Metrics) || type != FU_JSON_STRING)
		return;
	if (w->depth == 3)
	{
		if (fu_walk_at(w, 3, F_Namespace))
			st->lm_namespace = token;
		else if (fu_walk_at(w, 3, F_MetricName))
			st->lm_metric = token;
	}
	else if (w->depth == 5 && fu_walk_at(w, 3, F_Dimensions) && st->lm_dim)
	{
		if (fu_walk_at(w, 5, F_Name))
			st->lm_dim->name = token;
		else if (fu_walk_at(w, 5, F_Value))
			st->lm_dim->value = token;
	}
}

static const FuJsonHandlers gmd_handlers = {
	.names = cw_names,
	.list = "MetricDataResults",
	.object_start = gmd_object_start,
	.object_end = gmd_object_end,
	.scalar = gmd_scalar,
};

static const FuJsonHandlers lm_handlers = {
	.names = cw_names,
	.object_start = lm_object_start,
	.object_end = lm_object_end,
	.scalar = lm_scalar,
};

void
fu_cw_parse_page(FuScan *scan, FuRequest *req, char *body, size_t len)
{
	MState	   *st = (MState *) scan->pstate;
	ReqInfo    *ri = (ReqInfo *) req->pdata;

	st->page_req = req;
	st->npoints = st->maxpoints = st->cur = 0;
	st->ts = st->vals = NULL;
	st->qidx = NULL;
	st->next_token = NULL;
	st->lm_dim = NULL;
	fu_parse_json_events(req->label, body, len,
						 req->discovery ? &lm_handlers : &gmd_handlers, st);

	if (st->next_token)
	{
		fu_next_body_token(req, "NextToken", st->next_token);
		return;
	}

	/* a region whose discovery is over gets its data requests */
	if (req->discovery && --ri->region->discovering == 0)
	{
		MemoryContext old = MemoryContextSwitchTo(scan->req_cxt);

		fu_cw_data_requests(scan, st, ri->region);
		MemoryContextSwitchTo(old);
	}
}

