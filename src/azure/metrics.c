/*-------------------------------------------------------------------------
 *
 * metrics.c
 *		  azure_metrics: Azure Monitor metrics as a foreign table.
 *
 * One resource named by "=" is read with the ARM metrics API (a GET per
 * resource).  Several (IN, or a join's values) and the resources of a type
 * found in the subscription are read with metrics:getBatch on the
 * resources' regional data-plane endpoint: at most 50 resources of one
 * region and namespace per call, the calls in flight together.  The
 * regions come from the subscription's resource list (ARM), which the scan
 * reads first unless a region qual names it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "azure.h"
#include "catalog/pg_type.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

enum
{
	COL_RESOURCE_ID,
	COL_RESOURCE_TYPE,
	COL_RESOURCE_GROUP,
	COL_REGION,
	COL_NAMESPACE,
	COL_METRIC_NAME,
	COL_AGGREGATION,
	COL_PERIOD,
	COL_TS,
	COL_VALUE,
	COL_UNIT,
	COL_DIMENSIONS,
	NUM_COLS
};

#define BATCH_MAX	50

static const char *const aggregations[] = {
	"Average", "Minimum", "Maximum", "Total", "Count", NULL
};

/* Azure Monitor's time grains, in seconds and as ISO-8601 */
static const struct
{
	int			secs;
	const char *iso;
}			grains[] = {
	{60, "PT1M"}, {300, "PT5M"}, {900, "PT15M"}, {1800, "PT30M"}, {3600, "PT1H"},
	{21600, "PT6H"}, {43200, "PT12H"}, {86400, "P1D"}, {0, NULL}
};

static bool valid_period(const char *s);
static bool valid_type(const char *s);

static const FuColumn metrics_columns[NUM_COLS] = {
	{"resource_id", TEXTOID, FU_OPS_SET},
	{"resource_type", TEXTOID, FU_OPS_EQ, 0, NULL, valid_type,
	"virtual_machine, sql_database, storage_account, app_service, or an ARM type such as Microsoft.Compute/virtualMachines"},
	{"resource_group", TEXTOID, FU_OPS_SET},
	/* a region becomes part of a host name */
	{"region", TEXTOID, FU_OPS_SET, 0, NULL, fu_valid_region,
	"region names such as westeurope or eastus"},
	{"namespace", TEXTOID, FU_OPS_EQ},
	{"metric_name", TEXTOID, FU_OPS_SET},
	{"aggregation", TEXTOID, FU_OPS_SET, FU_COL_PER_VALUE, aggregations},
	{"period", INT4OID, FU_OPS_EQ, FU_COL_PER_VALUE, NULL, valid_period,
	"60, 300, 900, 1800, 3600, 21600, 43200 or 86400 (seconds)"},
	{"ts", TIMESTAMPTZOID, FU_OPS_RANGE},
	{"value", FLOAT8OID, 0},
	{"unit", TEXTOID, 0},
	{"dimensions", JSONBOID, 0},
};

/* The seed's resource types, their namespaces and default metrics */
typedef struct AzureType
{
	const char *name;
	const char *namespace;
	const char *const *metrics;
} AzureType;

static const AzureType types[] = {
	{"virtual_machine", "Microsoft.Compute/virtualMachines",
	(const char *const[]) {"Percentage CPU", "Network In Total", "Network Out Total", NULL}},
	{"sql_database", "Microsoft.Sql/servers/databases",
	(const char *const[]) {"cpu_percent", "connection_successful", "storage_percent", NULL}},
	{"storage_account", "Microsoft.Storage/storageAccounts",
	(const char *const[]) {"Transactions", "UsedCapacity", "Availability", NULL}},
	{"app_service", "Microsoft.Web/sites",
	(const char *const[]) {"CpuTime", "Requests", "HttpResponseTime", NULL}},
	{NULL, NULL, NULL}
};

static bool
valid_period(const char *s)
{
	for (int i = 0; grains[i].iso; i++)
		if (atoi(s) == grains[i].secs && strspn(s, "0123456789") == strlen(s))
			return true;
	return false;
}

static const AzureType *find_type(const char *name);

/* The seed's names, or an ARM type: Provider.Namespace/type[/subtype] */
static bool
valid_type(const char *s)
{
	const char *slash = strchr(s, '/');

	if (find_type(s) != NULL)
		return true;
	if (slash == NULL || strchr(s, '.') == NULL || strchr(s, '.') > slash)
		return false;
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char) *p) && *p != '.' && *p != '/')
			return false;
	return true;
}

static const AzureType *
find_type(const char *name)
{
	for (const AzureType *t = types; t->name; t++)
		if (strcmp(t->name, name) == 0 || pg_strcasecmp(t->namespace, name) == 0)
			return t;
	return NULL;
}

/* The namespace (provider type) of an ARM id: .../providers/A.B/c/x/d/y */
static char *
id_namespace(const char *id)
{
	const char *p = NULL;
	const char *q = id;
	StringInfoData ns;
	int			seg = 0;

	while ((q = strstr(q, "/providers/")) != NULL)
		p = q = q + 11;
	if (p == NULL)
		return NULL;
	initStringInfo(&ns);
	/* namespace, then type segments at odd places: A.B/type/name/sub/name */
	for (const char *s = p; *s; seg++)
	{
		size_t		len = strcspn(s, "/");

		if (seg == 0 || seg % 2 == 1)
		{
			if (ns.len > 0)
				appendStringInfoChar(&ns, '/');
			appendBinaryStringInfo(&ns, s, len);
		}
		s += len;
		if (*s == '/')
			s++;
	}
	return ns.data;
}

/* The resource group of an ARM id, or NULL */
static char *
id_group(const char *id)
{
	const char *p = id;
	char	   *g;

	/* ARM ids are compared without case */
	while (*p && pg_strncasecmp(p, "/resourceGroups/", 16) != 0)
		p++;
	if (*p == '\0')
		return NULL;
	g = pstrdup(p + 16);
	g[strcspn(g, "/")] = '\0';
	return g;
}

/* ---------- planning ---------- */

static FuPushdown
metrics_classify_qual(const FuSource *src, const FuQual *q)
{
	if (q->col == COL_PERIOD)
		return q->valtype == INT4OID ? FU_PUSH_EXACT : FU_PUSH_NONE;
	if (q->col == COL_TS)
		return (q->valtype == TIMESTAMPTZOID || q->valtype == DATEOID ||
				q->valtype == TIMESTAMPOID) ? FU_PUSH_RECHECK : FU_PUSH_NONE;
	if (q->valtype != TEXTOID)
		return FU_PUSH_NONE;
	/* rows of a type show the name the query gave it */
	if (q->col == COL_AGGREGATION || q->col == COL_RESOURCE_TYPE)
		return FU_PUSH_EXACT;
	return FU_PUSH_RECHECK;
}

static List *
metrics_plan(FuPlanInfo *pi)
{
	if (!fu_has_qual_on(pi->quals, COL_RESOURCE_ID) &&
		!fu_has_qual_on(pi->quals, COL_RESOURCE_TYPE) &&
		!fu_has_qual_on(pi->quals, COL_NAMESPACE))
		fu_plan_refuse(pi, ERRCODE_FEATURE_NOT_SUPPORTED,
					   psprintf("\"%s\" needs a condition on resource_id, resource_type or namespace",
								get_rel_name(pi->table->relid)),
					   "Azure Monitor reads the metrics of resources; reading every resource of a subscription is slow and throttled.",
					   "Add for example WHERE resource_type = 'virtual_machine', or WHERE resource_id = '/subscriptions/.../virtualMachines/vm1'.");
	pi->rows = 24 * (fu_find_qual(pi->quals, COL_RESOURCE_ID, FU_OP_EQ) ? 1 : 20);
	pi->calls = fu_find_qual(pi->quals, COL_RESOURCE_ID, FU_OP_EQ) ? 1 : 2;
	return NIL;
}

/* ---------- scan start ---------- */

typedef struct MQuals
{
	List	   *ids;
	List	   *regions;
	List	   *groups;
	List	   *metrics;
	List	   *aggs;
	char	   *type;
	char	   *namespace;
	int			period;
	bool		c_ids,
				c_regions,
				c_groups,
				c_metrics,
				c_aggs;
} MQuals;

/* One call: what its rows share */
typedef struct CallInfo
{
	bool		listing;		/* the resource list: no rows */
	char	   *resource_id;	/* single-resource call */
	char	   *region;
} CallInfo;

typedef struct Point
{
	int			series;
	TimestampTz ts;
	double		values[5];		/* by aggregation */
	bool		has[5];
} Point;

typedef struct Series
{
	Datum		d_id,
				d_type,
				d_group,
				d_region,
				d_namespace,
				d_metric,
				d_unit,
				d_dims;
	bool		has_group,
				has_region,
				has_unit;
	StringInfoData dims;
	char	   *dim_name;		/* the metadata value being read */
	char	   *dim_value;
} Series;

typedef struct MState
{
	MQuals		mq;
	const AzureType *type;
	char	   *namespace;
	List	   *metrics;		/* metric names */
	int64		start;			/* Unix seconds */
	int64		end;
	char	   *subscription;
	int			listings;		/* resource lists not complete yet */
	List	   *found;			/* [id, region] pairs the lists gave */

	/* page */
	FuRequest  *req;
	Series	   *series;
	int			nseries,
				maxseries;
	Point	   *points;
	int			npoints,
				maxpoints;
	int			cur;
	int			cur_agg;
	char	   *res_id;			/* batch: the current resource */
	char	   *res_region;
	char	   *res_namespace;
	char	   *metric;
	char	   *unit;
	int			metric_first;	/* first series of the metric being read */
	int			res_first;		/* first series of the resource being read */
	bool		in_point;
	Point		point;
	char	   *next_link;
	char	   *l_id,
			   *l_location;
} MState;

static const char *const agg_json[] = {"average", "minimum", "maximum", "total", "count"};

static int
agg_index(const char *name)
{
	for (int i = 0; aggregations[i]; i++)
		if (pg_strcasecmp(aggregations[i], name) == 0)
			return i;
	return -1;
}

static char *
iso_time(int64 secs)
{
	int64		days = secs / SECS_PER_DAY;
	int64		rem = secs % SECS_PER_DAY;
	int			y,
				m,
				d;

	if (rem < 0)
	{
		rem += SECS_PER_DAY;
		days--;
	}
	j2date((int) (days + UNIX_EPOCH_JDATE), &y, &m, &d);
	return psprintf("%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d, (int) (rem / 3600),
					(int) (rem / 60 % 60), (int) (rem % 60));
}

static const char *
grain(int period)
{
	for (int i = 0; grains[i].iso; i++)
		if (grains[i].secs == period)
			return grains[i].iso;
	return "PT1H";
}

static char *
join_names(List *l, const char *sep)
{
	StringInfoData b;
	ListCell   *lc;

	initStringInfo(&b);
	foreach(lc, l)
		appendStringInfo(&b, "%s%s", foreach_current_index(lc) ? sep : "",
						 (char *) lfirst(lc));
	return b.data;
}

static char *
agg_param(MState *st)
{
	List	   *l = NIL;
	ListCell   *lc;

	foreach(lc, st->mq.aggs)
		l = lappend(l, (char *) agg_json[agg_index(lfirst(lc))]);
	return join_names(l, ",");
}

/* The window [start, end) of the ts quals, whole periods; default a day */
static bool
read_window(FuScan *scan, MState *st)
{
	int64		now = fu_now_epoch();
	double		lo = -INFINITY,
				hi = INFINITY;
	ListCell   *lc;

	foreach(lc, scan->quals)
	{
		FuQual	   *q = (FuQual *) lfirst(lc);
		double		e;
		double		slack;

		if (!q->known || q->isnull || q->col != COL_TS)
			continue;
		e = fu_qual_epoch(q);
		slack = q->valtype == TIMESTAMPTZOID ? 0 : SECS_PER_DAY;
		if (q->op == FU_OP_GT || q->op == FU_OP_GE || q->op == FU_OP_EQ)
			lo = Max(lo, floor(e - slack));
		if (q->op == FU_OP_LT || q->op == FU_OP_LE || q->op == FU_OP_EQ)
			hi = Min(hi, ceil(e + slack) + (q->op == FU_OP_LT ? 0 : 1));
	}
	hi = Min(hi, (double) now);
	if (isinf(lo))
		lo = hi - SECS_PER_DAY;
	/* buckets start on the period's grid: a bucket starting at lo or after */
	st->start = (int64) ceil(lo / st->mq.period) * st->mq.period;
	st->end = (int64) hi;
	return st->start < st->end && lo > -1e11;
}

/* An ARM id as a URL path: each segment percent-encoded, '/' kept */
static char *
path_encode(const char *id)
{
	StringInfoData b;

	initStringInfo(&b);
	while (*id)
	{
		size_t		len = strcspn(id, "/");

		appendStringInfoString(&b, fu_url_encode(pnstrdup(id, len)));
		id += len;
		if (*id == '/')
			appendStringInfoChar(&b, *id++);
	}
	return b.data;
}

static void
single_request(FuScan *scan, MState *st, const char *id)
{
	FuRequest  *req = fu_request_new(scan, "Azure Monitor metrics", "GET",
									 fu_base_url(scan->server, AZURE_ARM_HOST),
									 psprintf("%s/providers/Microsoft.Insights/metrics",
											  path_encode(id[0] == '/' ? id + 1 : id)));
	CallInfo   *ci = palloc0(sizeof(CallInfo));
	char	   *ns = st->namespace ? st->namespace : id_namespace(id);

	/* list price: USD 0.01 per 1,000 metric queries (beyond the free tier) */
	req->price = 0.00001;
	fu_request_param(req, "api-version", AZURE_METRICS_API);
	fu_request_param(req, "timespan", psprintf("%s/%s", iso_time(st->start), iso_time(st->end)));
	fu_request_param(req, "interval", grain(st->mq.period));
	fu_request_param(req, "metricnames", join_names(st->metrics, ","));
	fu_request_param(req, "aggregation", agg_param(st));
	if (ns)
		fu_request_param(req, "metricnamespace", ns);
	ci->resource_id = pstrdup(id);
	req->pdata = ci;
}

/* getBatch calls: the ids of one region, 50 at a time */
static void
batch_requests(FuScan *scan, MState *st, const char *region, List *ids)
{
	ListCell   *lc;
	StringInfoData body;
	int			n = 0;

	initStringInfo(&body);
	foreach(lc, ids)
	{
		if (n == 0)
			appendStringInfoString(&body, "{\"resourceids\":[");
		else
			appendStringInfoChar(&body, ',');
		escape_json(&body, (char *) lfirst(lc));
		if (++n == BATCH_MAX || lnext(ids, lc) == NULL)
		{
			FuRequest  *req;
			CallInfo   *ci = palloc0(sizeof(CallInfo));

			appendStringInfoString(&body, "]}");
			req = fu_request_new(scan, psprintf("Azure Monitor metrics:getBatch in %s", region),
								 "POST",
								 fu_base_url(scan->server,
											 psprintf("%s." AZURE_METRICS_HOST, region)),
								 psprintf("subscriptions/%s/metrics:getBatch",
										  st->subscription));
			fu_request_param(req, "api-version", AZURE_METRICS_API);
			/* list price: USD 0.01 per 1,000 metric queries, per resource */
			req->price = 0.00001 * n;
			fu_request_param(req, "metricnamespace", st->namespace);
			fu_request_param(req, "metricnames", join_names(st->metrics, ","));
			fu_request_param(req, "starttime", iso_time(st->start));
			fu_request_param(req, "endtime", iso_time(st->end));
			fu_request_param(req, "interval", grain(st->mq.period));
			fu_request_param(req, "aggregation", agg_param(st));
			fu_request_body(req, "application/json", body.data, body.len);
			req->audience = AZURE_METRICS_SCOPE;
			ci->region = pstrdup(region);
			req->pdata = ci;
			resetStringInfo(&body);
			n = 0;
		}
	}
}

/* The batch calls of the resources found, by region */
static void
found_requests(FuScan *scan, MState *st)
{
	List	   *regions = NIL;
	ListCell   *lc;
	ListCell   *lr;

	foreach(lc, st->found)
	{
		char	   *region = (char *) lsecond((List *) lfirst(lc));

		if (!fu_string_member(regions, region))
			regions = lappend(regions, region);
	}
	foreach(lr, regions)
	{
		List	   *ids = NIL;

		foreach(lc, st->found)
		{
			List	   *pair = (List *) lfirst(lc);

			if (strcmp((char *) lsecond(pair), (char *) lfirst(lr)) == 0)
				ids = lappend(ids, linitial(pair));
		}
		batch_requests(scan, st, (char *) lfirst(lr), ids);
	}
}

static void
metrics_begin(FuScan *scan)
{
	MState	   *st = palloc0(sizeof(MState));
	MQuals	   *mq = &st->mq;
	ListCell   *lc;

	scan->pstate = st;
	mq->period = 3600;
	foreach(lc, scan->quals)
	{
		FuQual	   *q = (FuQual *) lfirst(lc);

		if (!q->known || q->isnull)
			continue;
		switch (q->col)
		{
			case COL_RESOURCE_ID:
				mq->ids = fu_intersect_strings(mq->ids, &mq->c_ids, fu_qual_strings(q));
				break;
			case COL_REGION:
				mq->regions = fu_intersect_strings(mq->regions, &mq->c_regions, fu_qual_strings(q));
				break;
			case COL_RESOURCE_GROUP:
				mq->groups = fu_intersect_strings(mq->groups, &mq->c_groups, fu_qual_strings(q));
				break;
			case COL_METRIC_NAME:
				mq->metrics = fu_intersect_strings(mq->metrics, &mq->c_metrics, fu_qual_strings(q));
				break;
			case COL_AGGREGATION:
				mq->aggs = fu_intersect_strings(mq->aggs, &mq->c_aggs, fu_qual_strings(q));
				break;
			case COL_RESOURCE_TYPE:
				mq->type = fu_qual_text(q->value);
				break;
			case COL_NAMESPACE:
				mq->namespace = fu_qual_text(q->value);
				break;
			case COL_PERIOD:
				mq->period = DatumGetInt32(q->value);
				break;
		}
	}
	if (!mq->c_aggs)
		mq->aggs = list_make1("Average");
	if ((mq->c_ids && mq->ids == NIL) || (mq->c_metrics && mq->metrics == NIL) ||
		mq->aggs == NIL || (mq->c_regions && mq->regions == NIL) ||
		(mq->c_groups && mq->groups == NIL))
		return;
	if (!read_window(scan, st))
		return;

	/* the namespace: named, the type's, or the ids' */
	st->type = mq->type ? find_type(mq->type) : NULL;
	st->namespace = mq->namespace ? mq->namespace :
		st->type ? pstrdup(st->type->namespace) :
		mq->type ? mq->type :
		(mq->ids ? id_namespace((char *) linitial(mq->ids)) : NULL);
	if (st->type == NULL && st->namespace)
		st->type = find_type(st->namespace);
	if (mq->c_metrics)
		st->metrics = mq->metrics;
	else if (st->type)
		for (const char *const *m = st->type->metrics; *m; m++)
			st->metrics = lappend(st->metrics, (char *) *m);
	else
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("\"%s\" has no default metrics for namespace \"%s\"",
						RelationGetRelationName(scan->rel),
						st->namespace ? fu_api_text(st->namespace) : "?"),
				 errhint("Name the metrics with metric_name = '...' or IN (...).")));

	/* one namespace a query: getBatch reads one at a time */
	foreach(lc, mq->ids)
	{
		char	   *ns = id_namespace((char *) lfirst(lc));

		if (ns && st->namespace && pg_strcasecmp(ns, st->namespace) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("\"%s\" reads resources of one namespace at a time",
							RelationGetRelationName(scan->rel)),
					 errdetail("\"%s\" is of namespace %s, not %s.", fu_api_text((char *) lfirst(lc)),
							   fu_api_text(ns), fu_api_text(st->namespace)),
					 errhint("Query each resource type separately and combine them with UNION ALL.")));
	}

	/* one resource: the ARM metrics API */
	if (mq->c_ids && list_length(mq->ids) == 1)
	{
		single_request(scan, st, (char *) linitial(mq->ids));
		return;
	}
	st->subscription = fu_azure_subscription(scan->server);
	if (st->namespace == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("the resources of \"%s\" have no namespace", RelationGetRelationName(scan->rel))));

	/* ids of one region named by the query: no listing needed */
	if (mq->c_ids && mq->c_regions && list_length(mq->regions) == 1)
	{
		foreach(lc, mq->ids)
			st->found = lappend(st->found, list_make2(lfirst(lc), linitial(mq->regions)));
		found_requests(scan, st);
		return;
	}

	/* else the subscription's resources of the namespace, with regions */
	{
		FuRequest  *req = fu_request_new(scan, "Azure Resource Manager resources list", "GET",
										 fu_base_url(scan->server, AZURE_ARM_HOST),
										 psprintf("subscriptions/%s/resources", st->subscription));
		CallInfo   *ci = palloc0(sizeof(CallInfo));
		StringInfoData f;

		fu_request_param(req, "api-version", AZURE_RESOURCES_API);
		/* an OData string: quotes doubled */
		initStringInfo(&f);
		appendStringInfoString(&f, "resourceType eq '");
		for (const char *p = st->namespace; *p; p++)
		{
			if (*p == '\'')
				appendStringInfoChar(&f, '\'');
			appendStringInfoChar(&f, *p);
		}
		appendStringInfoChar(&f, '\'');
		fu_request_param(req, "$filter", f.data);
		ci->listing = true;
		req->pdata = ci;
		req->discovery = true;
		st->listings = 1;
	}
}

/* ---------- page parsing ---------- */

enum
{
	F_value, F_values, F_resourceid, F_resourceregion, F_namespace, F_name,
	F_unit, F_timeseries, F_metadatavalues, F_data, F_timeStamp, F_average,
	F_minimum, F_maximum, F_total, F_count, F_nextLink, F_id, F_location,
	F_errorCode, F_errorMessage,
};

static const char *const am_names[] = {
	"value", "values", "resourceid", "resourceregion", "namespace", "name",
	"unit", "timeseries", "metadatavalues", "data", "timeStamp", "average",
	"minimum", "maximum", "total", "count", "nextLink", "id", "location",
	"errorCode", "errorMessage", NULL
};

/*
 * The ARM answer is one resource's {"value": [Metric]}; the batch's
 * {"values": [{"resourceid", ..., "value": [Metric]}]}: b is the depth of
 * that resource object (1 or 3).
 */
static int
base_depth(FuJsonWalk *w)
{
	return fu_walk_at(w, 1, F_values) ? 3 : 1;
}

/* The resource of the series read since res_first */
static void
finish_resource(MState *st, FuJsonWalk *w)
{
	CallInfo   *ci = (CallInfo *) st->req->pdata;
	const char *id = ci->resource_id ? ci->resource_id : st->res_id;
	char	   *group;
	Datum		d_id,
				d_ns,
				d_type,
				d_group,
				d_region;

	if (st->nseries <= st->res_first)
		return;
	if (id == NULL)
		fu_json_malformed(st->req->label, "A result names no resource.");
	group = id_group(id);
	d_id = fu_text_datum(id);
	d_ns = fu_text_datum(st->res_namespace ? st->res_namespace :
						 st->namespace ? st->namespace : "");
	/* the name the query used, a synonym of the namespace; else the seed's */
	d_type = st->mq.type ? fu_text_datum(st->mq.type) :
		st->type ? CStringGetTextDatum(st->type->name) : d_ns;
	d_group = group ? fu_text_datum(group) : (Datum) 0;
	d_region = st->res_region ? fu_text_datum(st->res_region) : (Datum) 0;
	for (int i = st->res_first; i < st->nseries; i++)
	{
		Series	   *s = &st->series[i];

		s->d_id = d_id;
		s->d_namespace = d_ns;
		s->d_type = d_type;
		s->has_group = group != NULL;
		s->d_group = d_group;
		s->has_region = st->res_region != NULL;
		s->d_region = d_region;
	}
	st->res_first = st->nseries;
}

static void
am_object_start(void *arg, FuJsonWalk *w)
{
	MState	   *st = (MState *) arg;
	int			b = base_depth(w);

	if (((CallInfo *) st->req->pdata)->listing)
	{
		if (w->depth == 3 && fu_walk_at(w, 1, F_value))
			st->l_id = st->l_location = NULL;
		return;
	}
	if (b == 3 && w->depth == 3)
	{
		st->res_id = st->res_region = st->res_namespace = NULL;
		st->res_first = st->nseries;
	}
	else if (w->depth == b + 2 && fu_walk_at(w, b, F_value))
	{
		st->metric = st->unit = NULL;
		st->metric_first = st->nseries;
	}
	else if (w->depth == b + 4 && fu_walk_at(w, b, F_value) &&
			 fu_walk_at(w, b + 2, F_timeseries))
	{
		Series	   *s;

		st->series = fu_grow(st->series, st->nseries, &st->maxseries, sizeof(Series));
		s = &st->series[st->nseries++];
		memset(s, 0, sizeof(Series));
		initStringInfo(&s->dims);
		appendStringInfoChar(&s->dims, '{');
	}
	else if (w->depth == b + 6 && st->nseries > 0 &&
			 fu_walk_at(w, b + 4, F_metadatavalues))
		st->series[st->nseries - 1].dim_name = st->series[st->nseries - 1].dim_value = NULL;
	else if (w->depth == b + 6 && fu_walk_at(w, b, F_value) &&
			 fu_walk_at(w, b + 2, F_timeseries) && fu_walk_at(w, b + 4, F_data) &&
			 st->nseries > 0)
	{
		st->in_point = true;
		memset(&st->point, 0, sizeof(Point));
		st->point.series = st->nseries - 1;
		st->point.ts = DT_NOBEGIN;
	}
}

static void
am_object_end(void *arg, FuJsonWalk *w)
{
	MState	   *st = (MState *) arg;
	CallInfo   *ci = (CallInfo *) st->req->pdata;
	int			b = base_depth(w);

	if (ci->listing)
	{
		if (w->depth == 3 && fu_walk_at(w, 1, F_value) && st->l_id && st->l_location)
		{
			MemoryContext old = MemoryContextSwitchTo(st->req->scan->req_cxt);

			st->found = lappend(st->found, list_make2(pstrdup(st->l_id),
													  pstrdup(st->l_location)));
			MemoryContextSwitchTo(old);
		}
		return;
	}
	if (w->depth == b + 4 && fu_walk_at(w, b, F_value) &&
		fu_walk_at(w, b + 2, F_timeseries) && st->nseries > 0)
	{
		Series	   *s = &st->series[st->nseries - 1];

		appendStringInfoChar(&s->dims, '}');
		s->d_dims = DirectFunctionCall1(jsonb_in,
										CStringGetDatum(pg_any_to_server(s->dims.data, s->dims.len,
																		 PG_UTF8)));
	}
	else if (w->depth == b + 6 && st->nseries > 0 &&
			 fu_walk_at(w, b + 4, F_metadatavalues))
	{
		Series	   *s = &st->series[st->nseries - 1];

		if (s->dim_name && s->dim_value)
		{
			appendStringInfoString(&s->dims, s->dims.len > 1 ? ", " : "");
			escape_json(&s->dims, s->dim_name);
			appendStringInfoString(&s->dims, ": ");
			escape_json(&s->dims, s->dim_value);
		}
	}
	/* a metric's name and unit may follow its series */
	else if (w->depth == b + 2 && fu_walk_at(w, b, F_value))
	{
		if (st->metric == NULL && st->nseries > st->metric_first)
			fu_walk_malformed(w, "A metric has no name.");
		for (int i = st->metric_first; i < st->nseries; i++)
		{
			st->series[i].d_metric = fu_text_datum(st->metric);
			st->series[i].has_unit = st->unit != NULL;
			st->series[i].d_unit = st->unit ? fu_text_datum(st->unit) : (Datum) 0;
		}
	}
	/* and a resource's id and region its metrics */
	else if (b == 3 && w->depth == 3)
		finish_resource(st, w);
	else if (w->depth == b + 6 && st->in_point && fu_walk_at(w, b + 4, F_data))
	{
		st->in_point = false;
		if (st->point.ts == DT_NOBEGIN)
			fu_walk_malformed(w, "A data point has no timeStamp.");
		st->points = fu_grow(st->points, st->npoints, &st->maxpoints, sizeof(Point));
		st->points[st->npoints++] = st->point;
	}
}

static void
am_scalar(void *arg, FuJsonWalk *w, char *tok, FuJsonToken type)
{
	MState	   *st = (MState *) arg;
	CallInfo   *ci = (CallInfo *) st->req->pdata;
	int			b;

	if (w->depth == 1 && fu_walk_at(w, 1, F_nextLink))
	{
		st->next_link = (type == FU_JSON_STRING && tok[0]) ? tok : NULL;
		return;
	}
	if (ci->listing)
	{
		if (w->depth == 3 && fu_walk_at(w, 1, F_value) && type == FU_JSON_STRING)
		{
			if (fu_walk_at(w, 3, F_id))
				st->l_id = tok;
			else if (fu_walk_at(w, 3, F_location))
				st->l_location = tok;
		}
		return;
	}
	b = base_depth(w);
	if (w->depth == b && type == FU_JSON_STRING)
	{
		if (fu_walk_at(w, b, F_resourceregion))
			st->res_region = tok;
		else if (fu_walk_at(w, b, F_resourceid))
			st->res_id = tok;
		else if (fu_walk_at(w, b, F_namespace))
			st->res_namespace = tok;
	}
	else if (w->depth == b + 2 && fu_walk_at(w, b, F_value) && type == FU_JSON_STRING)
	{
		if (fu_walk_at(w, b + 2, F_unit))
			st->unit = tok;
		else if (fu_walk_at(w, b + 2, F_errorCode) && strcmp(tok, "Success") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_ERROR),
					 errmsg("%s returned error code %s for a metric", st->req->label,
							fu_api_text(tok))));
	}
	else if (w->depth == b + 3 && fu_walk_at(w, b + 2, F_name) &&
			 fu_walk_at(w, b + 3, F_value) && type == FU_JSON_STRING)
		st->metric = tok;
	else if (w->depth == b + 6 && st->nseries > 0 && fu_walk_at(w, b + 4, F_metadatavalues))
	{
		/* {"name": {"value": "tier"}, "value": "Hot"}, in any order */
		if (fu_walk_at(w, b + 6, F_value) && type == FU_JSON_STRING)
			st->series[st->nseries - 1].dim_value = tok;
	}
	else if (w->depth == b + 7 && st->nseries > 0 && fu_walk_at(w, b + 4, F_metadatavalues) &&
			 fu_walk_at(w, b + 6, F_name) && fu_walk_at(w, b + 7, F_value) &&
			 type == FU_JSON_STRING)
		st->series[st->nseries - 1].dim_name = tok;
	else if (w->depth == b + 6 && st->in_point && fu_walk_at(w, b + 4, F_data))
	{
		if (fu_walk_at(w, b + 6, F_timeStamp))
		{
			if (type != FU_JSON_STRING || !fu_parse_timestamptz(tok, &st->point.ts))
				fu_walk_malformed(w, "A timeStamp is not a timestamp.");
		}
		else
		{
			for (int a = 0; a < 5; a++)
				if (fu_walk_at(w, b + 6, F_average + a))
				{
					char	   *end;

					if (type != FU_JSON_NUMBER)
						fu_walk_malformed(w, "A metric value is not a number.");
					st->point.values[a] = strtod(tok, &end);
					st->point.has[a] = true;
				}
		}
	}
}

static const FuJsonHandlers am_handlers = {
	.names = am_names,
	.object_start = am_object_start,
	.object_end = am_object_end,
	.scalar = am_scalar,
};

/* ARM ids are compared without case */
static bool
member_nocase(List *l, const char *s)
{
	ListCell   *lc;

	foreach(lc, l)
		if (pg_strcasecmp((char *) lfirst(lc), s) == 0)
			return true;
	return false;
}

static void
metrics_parse_page(FuScan *scan, FuRequest *req, char *body, size_t len)
{
	MState	   *st = (MState *) scan->pstate;
	CallInfo   *ci = (CallInfo *) req->pdata;

	st->req = req;
	st->series = NULL;
	st->points = NULL;
	st->nseries = st->maxseries = st->npoints = st->maxpoints = 0;
	st->cur = st->cur_agg = 0;
	st->in_point = false;
	st->next_link = NULL;
	st->res_id = st->res_region = st->res_namespace = NULL;
	st->res_first = st->metric_first = 0;
	if (ci->listing && scan->page_index == 0)
		st->found = NIL;
	fu_parse_json_events(req->label, body, len, &am_handlers, st);
	/* the ARM answer is one resource's: its region may come last */
	if (!ci->listing && ci->resource_id)
		finish_resource(st, NULL);

	if (st->next_link)
		fu_next_link(req, st->next_link);
	else if (ci->listing && !scan->replaying)
	{
		/* the resources found, in the query's regions and groups */
		MemoryContext old = MemoryContextSwitchTo(scan->req_cxt);
		List	   *keep = NIL;
		ListCell   *lc;

		foreach(lc, st->found)
		{
			List	   *pair = (List *) lfirst(lc);
			char	   *id = (char *) linitial(pair);
			char	   *group = id_group(id);

			if (!fu_valid_region((char *) lsecond(pair)) ||
				(st->mq.c_ids && !member_nocase(st->mq.ids, id)) ||
				(st->mq.c_regions && !fu_string_member(st->mq.regions, lsecond(pair))) ||
				(st->mq.c_groups && (group == NULL || !fu_string_member(st->mq.groups, group))))
				continue;
			keep = lappend(keep, pair);
		}
		st->found = keep;
		found_requests(scan, st);
		MemoryContextSwitchTo(old);
	}
}

static bool
metrics_next_row(FuScan *scan, Datum *values, bool *nulls)
{
	MState	   *st = (MState *) scan->pstate;
	int			naggs = list_length(st->mq.aggs);
	Point	   *p;
	Series	   *s;
	char	   *agg;
	int			a;

	if (((CallInfo *) st->req->pdata)->listing || st->cur >= st->npoints)
		return false;
	p = &st->points[st->cur];
	s = &st->series[p->series];
	agg = (char *) list_nth(st->mq.aggs, st->cur_agg);
	a = agg_index(agg);
	if (++st->cur_agg >= naggs)
	{
		st->cur_agg = 0;
		st->cur++;
	}

	values[COL_RESOURCE_ID] = s->d_id;
	nulls[COL_RESOURCE_ID] = s->d_id == (Datum) 0;
	values[COL_RESOURCE_TYPE] = s->d_type;
	nulls[COL_RESOURCE_TYPE] = s->d_type == (Datum) 0;
	values[COL_RESOURCE_GROUP] = s->d_group;
	nulls[COL_RESOURCE_GROUP] = !s->has_group;
	values[COL_REGION] = s->d_region;
	nulls[COL_REGION] = !s->has_region;
	values[COL_NAMESPACE] = s->d_namespace;
	nulls[COL_NAMESPACE] = s->d_namespace == (Datum) 0;
	values[COL_METRIC_NAME] = s->d_metric;
	nulls[COL_METRIC_NAME] = s->d_metric == (Datum) 0;
	values[COL_AGGREGATION] = CStringGetTextDatum(aggregations[a]);
	nulls[COL_AGGREGATION] = false;
	values[COL_PERIOD] = Int32GetDatum(st->mq.period);
	nulls[COL_PERIOD] = false;
	values[COL_TS] = TimestampTzGetDatum(p->ts);
	nulls[COL_TS] = false;
	values[COL_VALUE] = Float8GetDatum(p->values[a]);
	nulls[COL_VALUE] = !p->has[a];
	values[COL_UNIT] = s->d_unit;
	nulls[COL_UNIT] = !s->has_unit;
	values[COL_DIMENSIONS] = s->d_dims;
	nulls[COL_DIMENSIONS] = s->d_dims == (Datum) 0;
	return true;
}

const FuSource fu_source_azure_metrics = {
	.name = "azure_metrics",
	.api = "Azure Monitor metrics",
	.columns = metrics_columns,
	.ncolumns = NUM_COLS,
	.call_price = 0,
	.paged = true,
	.classify_qual = metrics_classify_qual,
	.plan = metrics_plan,
	.begin = metrics_begin,
	.parse_page = metrics_parse_page,
	.next_row = metrics_next_row,
};
