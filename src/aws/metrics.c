/*-------------------------------------------------------------------------
 *
 * metrics.c
 *		  aws_metrics: AWS CloudWatch datapoints as a foreign table.
 *
 * A scan finds its series, then fetches their datapoints (cloudwatch.c):
 *
 * - with resource_type and resource_id fixed, the series are known: one per
 *   region, resource, metric (the metric_name qual, or the type's defaults);
 *   a join on resource_id passes the ids in, so it needs no discovery;
 * - otherwise ListMetrics discovers them, per region, filtered by the
 *   namespace, metric name and key dimension the quals give.
 *
 * The time window and the period follow CloudWatch's rules
 * (metrics_window.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "metrics.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

static const char *const type_names[] = {
	"ec2", "rds", "lambda", "dynamodb", "s3", "elb", "alb", NULL
};
static const char *const basic_statistics[] = {
	"Average", "Minimum", "Maximum", "Sum", "SampleCount", NULL
};
static bool extended_statistic(const char *s);

static const FuColumn metrics_columns[NUM_COLS] = {
	{"region", TEXTOID, FU_OPS_SET, FU_COL_PER_VALUE},
	{"resource_type", TEXTOID, FU_OPS_SET, 0, type_names},
	{"resource_id", TEXTOID, FU_OPS_SET},
	{"namespace", TEXTOID, FU_OPS_SET},
	{"metric_name", TEXTOID, FU_OPS_SET},
	{"dimensions", JSONBOID, 0},
	{"statistic", TEXTOID, FU_OPS_SET, FU_COL_PER_VALUE, basic_statistics,
	extended_statistic, "an extended statistic such as p99, p99.9, tm90 or TM(10%:90%)"},
	{"period", INT4OID, FU_OPS_SET, FU_COL_PER_VALUE, NULL, fu_cw_valid_period,
	"1, 5, 10, 20 or 30 (seconds), or a multiple of 60 up to a year (31622400)"},
	{"ts", TIMESTAMPTZOID, FU_OPS_RANGE},
	{"value", FLOAT8OID, 0},
	{"unit", TEXTOID, 0},
};

static const ResourceType resource_types[] = {
	{"ec2", "AWS/EC2", "InstanceId",
	(const char *const[]) {"CPUUtilization", "NetworkIn", "NetworkOut", "DiskReadBytes", "DiskWriteBytes", NULL}, 0},
	{"rds", "AWS/RDS", "DBInstanceIdentifier",
	(const char *const[]) {"CPUUtilization", "DatabaseConnections", "ReadIOPS", "WriteIOPS", NULL}, 0},
	{"lambda", "AWS/Lambda", "FunctionName",
	(const char *const[]) {"Invocations", "Duration", "Errors", "Throttles", NULL}, 0},
	{"dynamodb", "AWS/DynamoDB", "TableName",
	(const char *const[]) {"ConsumedReadCapacityUnits", "ConsumedWriteCapacityUnits", NULL}, 0},
	/* S3 storage metrics are daily and need their StorageType */
	{"s3", "AWS/S3", "BucketName",
	(const char *const[]) {"NumberOfObjects", "BucketSizeBytes", NULL}, 86400},
	{"elb", "AWS/ELB", "LoadBalancerName",
	(const char *const[]) {"RequestCount", "HealthyHostCount", "UnHealthyHostCount", NULL}, 0},
	{"alb", "AWS/ApplicationELB", "LoadBalancer",
	(const char *const[]) {"RequestCount", "ActiveConnectionCount", "TargetResponseTime", NULL}, 0},
	{NULL, NULL, NULL, NULL, 0}
};

/*
 * Units of documented metrics, since GetMetricData does not return them.
 * By namespace too: the same name may count something else in another.
 */
static const char *const metric_units[][3] = {
	{"AWS/EC2", "CPUUtilization", "Percent"},
	{"AWS/EC2", "NetworkIn", "Bytes"},
	{"AWS/EC2", "NetworkOut", "Bytes"},
	{"AWS/EC2", "DiskReadBytes", "Bytes"},
	{"AWS/EC2", "DiskWriteBytes", "Bytes"},
	{"AWS/EC2", "EBSReadBytes", "Bytes"},
	{"AWS/EC2", "EBSWriteBytes", "Bytes"},
	{"AWS/EC2", "StatusCheckFailed", "Count"},
	{"AWS/RDS", "CPUUtilization", "Percent"},
	{"AWS/RDS", "DatabaseConnections", "Count"},
	{"AWS/RDS", "ReadIOPS", "Count/Second"},
	{"AWS/RDS", "WriteIOPS", "Count/Second"},
	{"AWS/RDS", "FreeStorageSpace", "Bytes"},
	{"AWS/Lambda", "Invocations", "Count"},
	{"AWS/Lambda", "Duration", "Milliseconds"},
	{"AWS/Lambda", "Errors", "Count"},
	{"AWS/Lambda", "Throttles", "Count"},
	{"AWS/DynamoDB", "ConsumedReadCapacityUnits", "Count"},
	{"AWS/DynamoDB", "ConsumedWriteCapacityUnits", "Count"},
	{"AWS/S3", "NumberOfObjects", "Count"},
	{"AWS/S3", "BucketSizeBytes", "Bytes"},
	{"AWS/ELB", "RequestCount", "Count"},
	{"AWS/ELB", "HealthyHostCount", "Count"},
	{"AWS/ELB", "UnHealthyHostCount", "Count"},
	{"AWS/ApplicationELB", "RequestCount", "Count"},
	{"AWS/ApplicationELB", "ActiveConnectionCount", "Count"},
	{"AWS/ApplicationELB", "TargetResponseTime", "Seconds"},
	{NULL, NULL, NULL}
};

/* ---------- statistics ---------- */

/* A number 0..100 with at most two decimals ("99", "99.9") at s..end */
static bool
percent_number(const char *s, const char *end)
{
	char	   *e;
	double		v;

	if (s == end || !isdigit((unsigned char) *s))
		return false;
	v = strtod(s, &e);
	return e == end && v >= 0 && v <= 100 && end - s <= 6;
}

/*
 * CloudWatch's extended statistics: pNN, tmNN, tcNN, tsNN, wmNN, and the
 * range forms TM(a:b), TC(a:b), TS(a:b), WM(a:b), PR(a:b) with percents or
 * values, and IQM.
 */
static bool
extended_statistic(const char *s)
{
	static const char *const shorts[] = {"p", "tm", "tc", "ts", "wm", NULL};
	static const char *const ranges[] = {"TM", "TC", "TS", "WM", "PR", NULL};
	size_t		len = strlen(s);

	if (strcmp(s, "IQM") == 0)
		return true;
	for (const char *const *p = shorts; *p; p++)
	{
		size_t		plen = strlen(*p);

		if (strncmp(s, *p, plen) == 0 && percent_number(s + plen, s + len))
			return true;
	}
	for (const char *const *p = ranges; *p; p++)
	{
		if (strncmp(s, *p, 2) != 0 || s[2] != '(' || s[len - 1] != ')' ||
			strchr(s, ':') == NULL || len > 64)
			continue;
		for (const char *c = s + 3; c < s + len - 1; c++)
			if (!isdigit((unsigned char) *c) && strchr(".%:", *c) == NULL)
				return false;
		return true;
	}
	return false;
}

/* ---------- planning ---------- */

static FuPushdown
metrics_classify_qual(const FuSource *src, const FuQual *q)
{
	switch (q->col)
	{
		case COL_TS:
			if (q->valtype == TIMESTAMPTZOID || q->valtype == TIMESTAMPOID ||
				q->valtype == DATEOID)
				return FU_PUSH_RECHECK; /* whole buckets around the window */
			return FU_PUSH_NONE;
		case COL_PERIOD:
			return (q->valtype == INT2OID || q->valtype == INT4OID ||
					q->valtype == INT8OID) ? FU_PUSH_EXACT : FU_PUSH_NONE;
		default:
			return q->valtype == TEXTOID ? FU_PUSH_EXACT : FU_PUSH_NONE;
	}
}

static bool
has_set_qual(List *quals, int col)
{
	return fu_find_qual(quals, col, FU_OP_EQ) || fu_find_qual(quals, col, FU_OP_IN);
}

static List *
metrics_plan(FuPlanInfo *pi)
{
	if (!has_set_qual(pi->quals, COL_RESOURCE_TYPE) &&
		!has_set_qual(pi->quals, COL_NAMESPACE) &&
		!has_set_qual(pi->quals, COL_METRIC_NAME))
		fu_plan_refuse(pi, ERRCODE_FEATURE_NOT_SUPPORTED,
					   psprintf("\"%s\" needs a condition on resource_type, namespace or metric_name",
								get_rel_name(pi->table->relid)),
					   "Listing every metric of an account is slow and billed.",
					   "Add for example WHERE resource_type = 'ec2', or WHERE namespace = 'AWS/Lambda'.");

	/*
	 * A day of 5-minute points per series: a few metrics of one resource
	 * named by "=" (a join's key), which needs no discovery; or of the
	 * dozens of resources ListMetrics finds first.
	 */
	pi->rows = 288 * (fu_find_qual(pi->quals, COL_METRIC_NAME, FU_OP_EQ) ? 1 : 5);
	if (fu_find_qual(pi->quals, COL_RESOURCE_ID, FU_OP_EQ))
		pi->calls = 1;
	else
	{
		pi->rows *= fu_find_qual(pi->quals, COL_RESOURCE_ID, FU_OP_IN) ? 10 : 50;
		pi->calls = 2;
	}
	return NIL;
}

/* ---------- scan start ---------- */

static const ResourceType *
find_type(const char *name)
{
	for (const ResourceType *t = resource_types; t->name; t++)
		if (strcmp(t->name, name) == 0)
			return t;
	return NULL;
}

const ResourceType *
fu_cw_type_of_namespace(const char *ns)
{
	for (const ResourceType *t = resource_types; t->name; t++)
		if (strcmp(t->namespace, ns) == 0)
			return t;
	return NULL;
}

/* The metrics to fetch of a resource type */
static List *
type_metrics(MState *st, const ResourceType *t)
{
	List	   *l = NIL;

	if (st->metric_names != NIL)
		return st->metric_names;
	for (const char *const *m = t->metrics; *m; m++)
		l = lappend(l, (char *) *m);
	return l;
}

/* The unit of a documented metric, else NULL */
const char *
fu_cw_unit(const char *namespace, const char *metric)
{
	for (int i = 0; metric_units[i][0]; i++)
		if (strcmp(metric_units[i][1], metric) == 0 &&
			strcmp(metric_units[i][0], namespace) == 0)
			return metric_units[i][2];
	return NULL;
}

/* The periods a bound = or IN qual allows, intersected with the others' */
static List *
merge_periods(List *have, bool *constrained, FuQual *q)
{
	List	   *vals = NIL;
	List	   *out = NIL;
	ListCell   *lc;

	if (q->op == FU_OP_EQ)
		vals = list_make1_int(fu_cw_period_value(q, q->value));
	else
		for (int i = 0; i < q->nelems; i++)
			if (!q->elemnulls[i])
				vals = list_append_unique_int(vals, fu_cw_period_value(q, q->elems[i]));
	if (!*constrained)
	{
		*constrained = true;
		return vals;
	}
	foreach(lc, have)
		if (list_member_int(vals, lfirst_int(lc)))
			out = lappend_int(out, lfirst_int(lc));
	return out;
}

/* What the quals ask for, before any request exists */
typedef struct MetricsQuals
{
	List	   *regions;
	List	   *types;
	List	   *stats;
	List	   *periods;
	bool		c_regions;
	bool		c_types;
	bool		c_ns;
	bool		c_names;
	bool		c_ids;
	bool		c_stats;
	bool		c_periods;
	bool		region_placeholder;	/* EXPLAIN: a region bound later */
} MetricsQuals;

/*
 * The regions a qual names.  A region becomes part of a host name: one a
 * join gives that is not a region name matches nothing (as in a hash
 * join); one the query writes is an error (add_region).
 */
static List *
region_values(FuQual *q)
{
	List	   *out = NIL;
	ListCell   *lc;

	if (!q->join)
		return fu_qual_strings(q);
	foreach(lc, fu_qual_strings(q))
		if (fu_valid_region((char *) lfirst(lc)))
			out = lappend(out, lfirst(lc));
	return out;
}

static void
read_quals(FuScan *scan, MState *st, MetricsQuals *mq)
{
	ListCell   *lc;

	memset(mq, 0, sizeof(*mq));
	foreach(lc, scan->quals)
	{
		FuQual	   *q = (FuQual *) lfirst(lc);

		if (!q->known)
			continue;
		switch (q->col)
		{
			case COL_REGION:
				mq->regions = fu_intersect_strings(mq->regions, &mq->c_regions,
												   region_values(q));
				mq->region_placeholder |= q->placeholder;
				break;
			case COL_RESOURCE_TYPE:
				mq->types = fu_intersect_strings(mq->types, &mq->c_types, fu_qual_strings(q));
				break;
			case COL_NAMESPACE:
				st->namespaces = fu_intersect_strings(st->namespaces, &mq->c_ns, fu_qual_strings(q));
				break;
			case COL_METRIC_NAME:
				st->metric_names = fu_intersect_strings(st->metric_names, &mq->c_names, fu_qual_strings(q));
				break;
			case COL_RESOURCE_ID:
				st->resource_ids = fu_intersect_strings(st->resource_ids, &mq->c_ids, fu_qual_strings(q));
				break;
			case COL_STATISTIC:
				mq->stats = fu_intersect_strings(mq->stats, &mq->c_stats, fu_qual_strings(q));
				break;
			case COL_PERIOD:
				mq->periods = merge_periods(mq->periods, &mq->c_periods, q);
				break;
		}
	}
}

/*
 * Period, resource types and statistics from the quals; false when they
 * leave nothing to ask for.
 */
static bool
settings(FuScan *scan, MState *st, MetricsQuals *mq)
{
	ListCell   *lc;

	st->default_period = true;
	if (mq->c_periods)
	{
		if (mq->periods == NIL)
			return false;		/* period = 60 AND period = 300 */
		if (list_length(mq->periods) > 1)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("\"%s\" reads one period at a time",
							RelationGetRelationName(scan->rel)),
					 errhint("Query each period separately and combine them with UNION ALL.")));
		st->period = (int) linitial_int(mq->periods);
		st->default_period = false;
	}

	/* type names are valid: the engine checked the closed set */
	foreach(lc, mq->types)
	{
		const ResourceType *t = find_type((char *) lfirst(lc));

		/* a namespace qual must agree */
		if (!mq->c_ns || fu_string_member(st->namespaces, t->namespace))
			st->types = lappend(st->types, (void *) t);
	}
	if (!mq->c_stats)
		mq->stats = list_make1("Average");
	st->nstats = list_length(mq->stats);
	st->stats = palloc(sizeof(char *) * Max(st->nstats, 1));
	st->d_stats = palloc(sizeof(Datum) * Max(st->nstats, 1));
	foreach(lc, mq->stats)
	{
		st->stats[foreach_current_index(lc)] = (char *) lfirst(lc);
		st->d_stats[foreach_current_index(lc)] = fu_text_datum((char *) lfirst(lc));
	}

	return !((mq->c_types && st->types == NIL) ||
			 (mq->c_ns && st->namespaces == NIL) ||
			 (mq->c_names && st->metric_names == NIL) ||
			 (mq->c_ids && st->resource_ids == NIL) ||
			 st->nstats == 0 || (mq->c_regions && mq->regions == NIL));
}

static Region *
add_region(MState *st, const char *name, bool placeholder)
{
	Region	   *r = palloc0(sizeof(Region));

	/* it becomes part of a host name: nothing but a region's characters */
	if (!placeholder && !fu_valid_region(name))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("invalid AWS region \"%s\"", name),
				 errhint("Regions are names such as us-east-1 or eu-west-1.")));
	r->name = pstrdup(name);
	st->regions = lappend(st->regions, r);
	return r;
}

/* Regions: the quals', else the server's "regions", else its "region" */
static void
choose_regions(FuScan *scan, MState *st, MetricsQuals *mq)
{
	ListCell   *lc;
	char	   *regions = fu_get_option(scan->server->options, "regions");

	if (mq->c_regions)
	{
		foreach(lc, mq->regions)
			add_region(st, (char *) lfirst(lc), mq->region_placeholder);
		return;
	}
	if (regions)
		foreach(lc, fu_split_list(regions))
			add_region(st, (char *) lfirst(lc), false);
	if (st->regions == NIL)
		add_region(st, fu_aws_region(scan->server), false);
}

/* The requests of one region: known series, or discovery first */
static void
region_requests(FuScan *scan, MState *st, Region *region, bool ids_known)
{
	ListCell   *lc;
	char	   *one_metric = list_length(st->metric_names) == 1 ?
		(char *) linitial(st->metric_names) : NULL;

	if (list_length(st->types) == 1 && ids_known &&
		((const ResourceType *) linitial(st->types))->default_period == 0)
	{
		/*
		 * Every series is known: no discovery.  (Not for S3, whose buckets
		 * have one series per storage class; nor for several types, whose
		 * ids would be crossed with every type.)
		 */
		const ResourceType *t = (const ResourceType *) linitial(st->types);
		ListCell   *li;

		foreach(li, st->resource_ids)
			foreach(lc, type_metrics(st, t))
				fu_cw_series(region, t, t->namespace, (char *) lfirst(lc),
							 list_make1(fu_cw_dim(t->key, (char *) lfirst(li))));
		fu_cw_data_requests(scan, st, region);
	}
	else if (st->types != NIL)
	{
		foreach(lc, st->types)
		{
			const ResourceType *t = (const ResourceType *) lfirst(lc);

			fu_cw_list_request(scan, st, region, t, t->namespace, one_metric);
		}
	}
	else if (st->namespaces != NIL)
	{
		/* with resource ids, only series of the namespace's key dimension */
		foreach(lc, st->namespaces)
			fu_cw_list_request(scan, st, region,
							   ids_known ? fu_cw_type_of_namespace((char *) lfirst(lc)) : NULL,
							   (char *) lfirst(lc), one_metric);
	}
	else
	{
		/* by metric name only: one listing per name, never the account's */
		foreach(lc, st->metric_names)
			fu_cw_list_request(scan, st, region, NULL, NULL, (char *) lfirst(lc));
	}
}

static void
metrics_begin(FuScan *scan)
{
	MState	   *st = palloc0(sizeof(MState));
	MetricsQuals mq;
	ListCell   *lc;

	scan->pstate = st;
	read_quals(scan, st, &mq);
	if (!settings(scan, st, &mq) || !fu_cw_window(scan, st))
		return;
	choose_regions(scan, st, &mq);
	foreach(lc, st->regions)
		region_requests(scan, st, (Region *) lfirst(lc), mq.c_ids);
}

static void
metrics_parse_page(FuScan *scan, FuRequest *req, char *body, size_t len)
{
	fu_cw_parse_page(scan, req, body, len);
}

/* ---------- rows ---------- */

static bool
metrics_next_row(FuScan *scan, Datum *values, bool *nulls)
{
	MState	   *st = (MState *) scan->pstate;
	ReqInfo    *ri;
	MetricQuery *q;
	Series	   *s;
	double		t;

	if (st->cur >= st->npoints)
		return false;
	ri = (ReqInfo *) st->page_req->pdata;
	q = &ri->queries[st->qidx[st->cur]];
	s = q->series;

	values[COL_REGION] = s->d_region;
	nulls[COL_REGION] = false;
	if (s->type)
	{
		values[COL_RESOURCE_TYPE] = s->d_type;
		nulls[COL_RESOURCE_TYPE] = false;
	}
	if (s->resource_id)
	{
		values[COL_RESOURCE_ID] = s->d_id;
		nulls[COL_RESOURCE_ID] = false;
	}
	values[COL_NAMESPACE] = s->d_namespace;
	nulls[COL_NAMESPACE] = false;
	values[COL_METRIC_NAME] = s->d_metric;
	nulls[COL_METRIC_NAME] = false;
	values[COL_DIMENSIONS] = s->d_dims;
	nulls[COL_DIMENSIONS] = false;
	values[COL_STATISTIC] = st->d_stats[q->stat];
	nulls[COL_STATISTIC] = false;
	values[COL_PERIOD] = Int32GetDatum(st->period);
	nulls[COL_PERIOD] = false;
	if (s->d_unit)
	{
		values[COL_UNIT] = s->d_unit;
		nulls[COL_UNIT] = false;
	}

	t = st->ts[st->cur];
	values[COL_TS] = TimestampTzGetDatum(fu_epoch_timestamptz(t));
	nulls[COL_TS] = false;
	values[COL_VALUE] = Float8GetDatum(st->vals[st->cur]);
	nulls[COL_VALUE] = false;
	st->cur++;
	return true;
}

static void
metrics_explain(FuScan *scan, ExplainState *es)
{
	MState	   *st = (MState *) scan->pstate;

	/* nothing to ask: nothing to explain */
	if (scan->requests == NIL)
		return;
	ExplainPropertyText("Window",
						psprintf("%s to %s%s, period %d s%s",
								 fu_epoch_text(st->start), fu_epoch_text(st->end),
								 st->default_start && st->default_end ? " (default: the last 24 hours)" :
								 st->default_start ? " (start defaulted to 24 hours before the end)" :
								 st->default_end ? " (end defaulted to now)" : "",
								 st->period,
								 st->default_period ? " (default for this age and length)" : ""),
						es);
	if (st->nqueries > 0)
		ExplainPropertyText("Metric queries",
							psprintf("%d (GetMetricData bills 0.01 USD per 1,000)", st->nqueries),
							es);
	else
		ExplainPropertyText("Note",
							"ListMetrics finds the series first; their GetMetricData requests follow",
							es);
	/* a limit of the API, easy to trip over */
	if (st->discovery && fu_now_epoch() - st->start > 14 * SECS_PER_DAY)
		ExplainPropertyText("Note",
							"ListMetrics lists only series with data in the last two weeks; name resource_id to reach older resources",
							es);
}

const FuSource fu_source_aws_metrics = {
	.name = "aws_metrics",
	.api = "AWS CloudWatch",
	.columns = metrics_columns,
	.ncolumns = NUM_COLS,
	.paged = true,
	.call_price = 0,
	.classify_qual = metrics_classify_qual,
	.plan = metrics_plan,
	.begin = metrics_begin,
	.parse_page = metrics_parse_page,
	.next_row = metrics_next_row,
	.explain = metrics_explain,
};
