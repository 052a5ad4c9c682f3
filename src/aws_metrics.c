/*-------------------------------------------------------------------------
 *
 * aws_metrics.c
 *		  aws_metrics: AWS CloudWatch GetMetricData as a foreign table.
 *
 * A scan finds its series, then fetches their datapoints:
 *
 * - with resource_type and resource_id fixed, the series are known: one per
 *   region, resource, metric (the metric_name qual, or the type's defaults);
 * - otherwise ListMetrics discovers them, per region, filtered by the
 *   namespace, metric name and key dimension the quals give.
 *
 * Each series × statistic is a MetricDataQuery; up to 500 go in one
 * GetMetricData call, and NextToken pages past 100,800 datapoints.  Regions
 * and batches are independent requests, so the engine runs them
 * concurrently; the requests of one region are signed for that region.
 *
 * GetMetricData returns no units: the unit column comes from a table of the
 * metrics AWS documents, NULL for others.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "common/jsonapi.h"
#include "datatype/timestamp.h"
#include "aws.h"
#include "finops_usage.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

enum
{
	COL_REGION,
	COL_RESOURCE_TYPE,
	COL_RESOURCE_ID,
	COL_NAMESPACE,
	COL_METRIC_NAME,
	COL_DIMENSIONS,
	COL_STATISTIC,
	COL_PERIOD,
	COL_TS,
	COL_VALUE,
	COL_UNIT,
	NUM_COLS
};

static const FuColumn metrics_columns[NUM_COLS] = {
	{"region", TEXTOID, FU_OPS_SET},
	{"resource_type", TEXTOID, FU_OPS_SET},
	{"resource_id", TEXTOID, FU_OPS_SET},
	{"namespace", TEXTOID, FU_OPS_SET},
	{"metric_name", TEXTOID, FU_OPS_SET},
	{"dimensions", JSONBOID, 0},
	{"statistic", TEXTOID, FU_OPS_SET},
	{"period", INT4OID, FU_OPS_SET},
	{"ts", TIMESTAMPTZOID, FU_OPS_RANGE},
	{"value", FLOAT8OID, 0},
	{"unit", TEXTOID, 0},
};

#define MAX_QUERIES_PER_CALL 500
#define MAX_DATAPOINTS_PER_CALL 100800
#define DEFAULT_REGION		"us-east-1"
#define MAX_DEFAULT_POINTS	1440

/* Resource types (the seed's mapping): namespace, key dimension, metrics */
typedef struct ResourceType
{
	const char *name;
	const char *namespace;
	const char *key;
	const char *const *metrics;
	int			default_period; /* 0: by the window */
} ResourceType;

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

/* Units of documented metrics, since GetMetricData does not return them */
static const char *const metric_units[][2] = {
	{"CPUUtilization", "Percent"},
	{"NetworkIn", "Bytes"},
	{"NetworkOut", "Bytes"},
	{"DiskReadBytes", "Bytes"},
	{"DiskWriteBytes", "Bytes"},
	{"EBSReadBytes", "Bytes"},
	{"EBSWriteBytes", "Bytes"},
	{"StatusCheckFailed", "Count"},
	{"DatabaseConnections", "Count"},
	{"ReadIOPS", "Count/Second"},
	{"WriteIOPS", "Count/Second"},
	{"FreeStorageSpace", "Bytes"},
	{"Invocations", "Count"},
	{"Duration", "Milliseconds"},
	{"Errors", "Count"},
	{"Throttles", "Count"},
	{"ConsumedReadCapacityUnits", "Count"},
	{"ConsumedWriteCapacityUnits", "Count"},
	{"NumberOfObjects", "Count"},
	{"BucketSizeBytes", "Bytes"},
	{"RequestCount", "Count"},
	{"HealthyHostCount", "Count"},
	{"UnHealthyHostCount", "Count"},
	{"ActiveConnectionCount", "Count"},
	{"TargetResponseTime", "Seconds"},
	{NULL, NULL}
};

typedef struct Dim
{
	char	   *name;
	char	   *value;
} Dim;

/* One time series of one region */
typedef struct Series
{
	int			region;
	const ResourceType *type;	/* NULL: namespace without a mapping */
	char	   *resource_id;	/* value of the key dimension, or NULL */
	char	   *namespace;
	char	   *metric;
	int			ndims;
	Dim		   *dims;
	/* column values, computed once */
	Datum		d_region;
	Datum		d_type;
	Datum		d_id;
	Datum		d_namespace;
	Datum		d_metric;
	Datum		d_dims;
	Datum		d_unit;
} Series;

/* A MetricDataQuery of one GetMetricData request: series × statistic */
typedef struct MetricQuery
{
	Series	   *series;
	int			stat;
} MetricQuery;

typedef struct Region
{
	char	   *name;
	List	   *series;			/* Series * found so far */
	int			discovering;	/* ListMetrics requests not done */
	int			nbatches;
} Region;

/* What a request is for */
typedef struct ReqInfo
{
	Region	   *region;
	bool		list_metrics;
	const ResourceType *type;	/* ListMetrics: the type looked for */
	int			nqueries;		/* GetMetricData */
	MetricQuery	   *queries;
} ReqInfo;

typedef struct MState
{
	/* from the quals */
	List	   *regions;		/* Region * */
	List	   *types;			/* const ResourceType * */
	List	   *namespaces;		/* char * */
	List	   *metric_names;	/* char * */
	List	   *resource_ids;	/* char * */
	int			nstats;
	char	  **stats;
	Datum	   *d_stats;
	int			period;
	bool		default_period;
	int64		start;			/* epoch seconds, inclusive */
	int64		end;			/* epoch seconds, exclusive */
	bool		default_start;
	bool		default_end;
	int			nqueries;		/* metric queries sent, for EXPLAIN */
	bool		discovery;		/* series are found with ListMetrics */

	/* current page */
	FuRequest  *page_req;
	int			npoints;
	int			maxpoints;
	double	   *ts;
	double	   *vals;
	int		   *qidx;
	int			cur;
	char	   *next_token;
	/* parser position */
	int			result_start;	/* first point of the current result */
	int			result_nts;		/* its timestamps so far */
	int			result_nvals;	/* its values so far */
	char	   *result_id;
	char	   *result_status;
	/* ListMetrics: the metric being read */
	char	   *lm_namespace;
	char	   *lm_metric;
	List	   *lm_dims;		/* Dim * */
	Dim		   *lm_dim;
} MState;

/* ---------- planning ---------- */

static FuPushdown
metrics_classify_qual(const FuSource *src, const FuQual *q)
{
	switch (q->col)
	{
		case COL_TS:
			if (q->valtype == TIMESTAMPTZOID || q->valtype == TIMESTAMPOID ||
				q->valtype == DATEOID)
				return FU_PUSH_RECHECK; /* StartTime is rounded down */
			return FU_PUSH_NONE;
		case COL_PERIOD:
			return (q->valtype == INT2OID || q->valtype == INT4OID ||
					q->valtype == INT8OID) ? FU_PUSH_EXACT : FU_PUSH_NONE;
		default:
			return q->valtype == TEXTOID ? FU_PUSH_EXACT : FU_PUSH_NONE;
	}
}

static bool
has_qual(List *quals, int col)
{
	return fu_find_qual(quals, col, FU_OP_EQ) || fu_find_qual(quals, col, FU_OP_IN);
}

static List *
metrics_plan(FuPlanInfo *pi)
{
	/*
	 * Rows come at one period: a comparison on it that is not pushed could
	 * only keep them all or drop them all.
	 */
	if (fu_has_qual_on(pi->unpushed, COL_PERIOD) &&
		!fu_has_qual_on(pi->quals, COL_PERIOD))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("aws_metrics can filter period only with = or IN"),
				 errhint("Write period = 300, for example; without a condition the period suits the window.")));
	if (!has_qual(pi->quals, COL_RESOURCE_TYPE) &&
		!has_qual(pi->quals, COL_NAMESPACE) &&
		!has_qual(pi->quals, COL_METRIC_NAME))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("aws_metrics needs a condition on resource_type, namespace or metric_name"),
				 errdetail("Listing every metric of an account is slow and billed."),
				 errhint("Add for example WHERE resource_type = 'ec2', or WHERE namespace = 'AWS/Lambda'.")));
	/* a day of 5-minute points for a few dozen series */
	pi->rows = 288 * 50;
	pi->calls = 2;
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

static const ResourceType *
type_of_namespace(const char *ns)
{
	for (const ResourceType *t = resource_types; t->name; t++)
		if (strcmp(t->namespace, ns) == 0)
			return t;
	return NULL;
}

static bool
list_has(List *l, const char *s)
{
	ListCell   *lc;

	foreach(lc, l)
		if (strcmp((char *) lfirst(lc), s) == 0)
			return true;
	return false;
}

/* The text values of a bound = or IN qual, NULLs left out */
static List *
qual_strings(FuQual *q)
{
	List	   *l = NIL;

	if (q->op == FU_OP_EQ)
		return list_make1(fu_qual_text(q->value));
	for (int i = 0; i < q->nelems; i++)
		if (!q->elemnulls[i])
		{
			char	   *s = fu_qual_text(q->elems[i]);

			if (!list_has(l, s))
				l = lappend(l, s);
		}
	return l;
}

/* A period value of any integer type, checked */
static int
period_value(FuQual *q, Datum d)
{
	int64		v;

	if (q->valtype == INT2OID)
		v = DatumGetInt16(d);
	else if (q->valtype == INT4OID)
		v = DatumGetInt32(d);
	else
		v = DatumGetInt64(d);
	if (v <= 0 || v > 30 * SECS_PER_DAY ||
		(v >= 60 ? v % 60 != 0 : (v != 1 && v != 5 && v != 10 && v != 20 && v != 30)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid aws_metrics period " INT64_FORMAT, v),
				 errhint("CloudWatch periods are 1, 5, 10, 20 or 30 seconds, or a multiple of 60.")));
	return (int) v;
}

/* The periods a bound = or IN qual allows, intersected with the others' */
static List *
merge_periods(List *have, bool *constrained, FuQual *q)
{
	List	   *vals = NIL;
	List	   *out = NIL;
	ListCell   *lc;

	if (q->op == FU_OP_EQ)
		vals = list_make1_int(period_value(q, q->value));
	else
		for (int i = 0; i < q->nelems; i++)
			if (!q->elemnulls[i])
				vals = list_append_unique_int(vals, period_value(q, q->elems[i]));
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

/* Intersect the values of several quals on one column */
static List *
merge_values(List *have, bool *constrained, List *more)
{
	List	   *out = NIL;
	ListCell   *lc;

	if (!*constrained)
	{
		*constrained = true;
		return more;
	}
	foreach(lc, have)
		if (list_has(more, (char *) lfirst(lc)))
			out = lappend(out, lfirst(lc));
	return out;
}

static bool
valid_statistic(const char *s)
{
	static const char *const basic[] = {"Average", "Sum", "Minimum", "Maximum",
	"SampleCount", NULL};

	for (const char *const *b = basic; *b; b++)
		if (strcmp(s, *b) == 0)
			return true;
	/* extended statistics: p99, p99.9, tm90, TM(10%:90%), ... */
	if (s[0] == '\0' || strlen(s) > 64)
		return false;
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char) *p) && strchr(".%:()", *p) == NULL)
			return false;
	return true;
}

/* Epoch seconds of a ts qual's value; dates count from UTC midnight */
static double
qual_epoch(FuQual *q)
{
	int64		usecs;

	if (q->valtype == DATEOID)
	{
		DateADT		d = DatumGetDateADT(q->value);

		if (DATE_NOT_FINITE(d))
			return DATE_IS_NOBEGIN(d) ? -INFINITY : INFINITY;
		/* in double: a date can lie beyond the timestamp range */
		return (double) d * SECS_PER_DAY +
			(double) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;
	}
	else
	{
		Timestamp	ts = DatumGetTimestamp(q->value);

		if (TIMESTAMP_NOT_FINITE(ts))
			return TIMESTAMP_IS_NOBEGIN(ts) ? -INFINITY : INFINITY;
		usecs = ts;
	}
	return (double) usecs / USECS_PER_SEC +
		(double) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;
}

/* "Now" in epoch seconds: the pinned today at midnight UTC, if pinned */
static int64
now_epoch(void)
{
	if (fu_today && fu_today[0])
		return ((int64) fu_today_date() + (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE)) * SECS_PER_DAY;
	return (int64) (GetCurrentTransactionStartTimestamp() / USECS_PER_SEC) +
		(int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;
}

/*
 * The coarsest resolution CloudWatch keeps for data of this age: older
 * points come back only for periods that are multiples of it, and for
 * other periods nothing comes back at all, silently.
 */
static int
resolution_for_age(int64 age)
{
	/* an hour's margin: the request reaches CloudWatch a little later */
	age += 3600;
	if (age > 63 * SECS_PER_DAY)
		return 3600;
	if (age > 15 * SECS_PER_DAY)
		return 300;
	if (age > 3 * 3600)
		return 60;
	return 1;					/* high resolution: 1, 5, 10, 20, 30 s */
}

/*
 * Datapoints fall in buckets counted from StartTime: aligning it to the
 * period puts them on whole periods (hours on the hour), as users expect;
 * the ts quals are rechecked, so the wider window is harmless.
 */
static void
align_window(MState *st)
{
	int64		now = now_epoch();

	if (st->period <= 0 || st->period > SECS_PER_DAY)
		return;
	st->start -= ((st->start % st->period) + st->period) % st->period;
	/* the last bucket whole, not clipped a second after its start */
	if ((st->end - st->start) % st->period != 0)
		st->end = Min(st->start + ((st->end - st->start) / st->period + 1) * st->period,
					  Max(now, st->end));
}

/*
 * Datapoints are stamped with the start of their bucket, a multiple of the
 * period: a window holding no such instant holds no rows (and is emptied).
 */
static bool
bucket_in_window(MState *st)
{
	int64		first;

	if (st->period <= 0 || st->period > SECS_PER_DAY)
		return true;
	first = st->start + (st->period - ((st->start % st->period) + st->period) % st->period) % st->period;
	if (first < st->end)
		return true;
	st->start = st->end = 0;
	return false;
}

static void
window_and_period(FuScan *scan, MState *st)
{
	ListCell   *lc;
	double		lo = -INFINITY;
	double		hi = INFINITY;
	int64		now = now_epoch();
	int			resolution;
	static const int ladder[] = {60, 300, 900, 3600, 21600, 86400, 0};

	foreach(lc, scan->quals)
	{
		FuQual	   *q = (FuQual *) lfirst(lc);
		double		e;
		double		slack;

		if (!q->known || q->col != COL_TS)
			continue;
		e = qual_epoch(q);
		/* a date or a timestamp without zone: a day either way, rechecked */
		slack = (q->valtype == TIMESTAMPTZOID) ? 0 : SECS_PER_DAY;
		if (q->op == FU_OP_GT || q->op == FU_OP_GE || q->op == FU_OP_EQ)
			lo = Max(lo, floor(e - slack));
		/* EndTime is exclusive */
		if (q->op == FU_OP_LT)
			hi = Min(hi, ceil(e + slack));
		else if (q->op == FU_OP_LE || q->op == FU_OP_EQ)
			hi = Min(hi, floor(e + slack) + 1);
	}
	/* "after +infinity", "before -infinity", or an empty range: no rows */
	if (lo >= hi || (isinf(lo) && lo > 0) || (isinf(hi) && hi < 0))
	{
		st->start = st->end = 0;
		return;
	}
	st->default_start = isinf(lo);
	st->default_end = isinf(hi);
	hi = Min(hi, (double) now);
	if (isinf(lo))
		lo = hi - SECS_PER_DAY;
	/* a window far outside what CloudWatch keeps is empty as well */
	if (lo >= hi || lo < -1e15)
	{
		st->start = st->end = 0;
		return;
	}
	st->start = (int64) lo;
	st->end = (int64) hi;

	/* datapoints of the window's start are the oldest asked for */
	if (!st->default_period && st->period > 0)
	{
		if (!bucket_in_window(st))
			return;
		align_window(st);
	}
	resolution = resolution_for_age(now - st->start);
	if (!st->default_period)
	{
		if (st->period <= 0 ||
			(st->period >= 60 ? st->period % 60 != 0 :
			 (st->period != 1 && st->period != 5 && st->period != 10 &&
			  st->period != 20 && st->period != 30)))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid aws_metrics period %d", st->period),
					 errhint("CloudWatch periods are 1, 5, 10, 20 or 30 seconds, or a multiple of 60.")));
		if (st->period % resolution != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("aws_metrics period %d is finer than CloudWatch keeps for data this old", st->period),
					 errdetail("Datapoints older than three hours exist only at multiples of 60 seconds, older than 15 days at multiples of 300, older than 63 days at multiples of 3600; CloudWatch returns nothing for a finer period."),
					 errhint("Use period = %d, or a multiple of it.", Max(resolution, 60))));
	}
	else
	{
		/* the finest allowed period that keeps a series under 1,440 points */
		resolution = Max(resolution, 60);
		st->period = 86400;
		for (int i = 0; ladder[i]; i++)
			if (ladder[i] % resolution == 0 &&
				(st->end - st->start) / ladder[i] <= MAX_DEFAULT_POINTS)
			{
				st->period = ladder[i];
				break;
			}
		/* S3 storage metrics are daily */
		foreach(lc, st->types)
			if (((const ResourceType *) lfirst(lc))->default_period > st->period)
				st->period = ((const ResourceType *) lfirst(lc))->default_period;
		if (!bucket_in_window(st))
			return;
		align_window(st);
	}
}

static Region *
add_region(MState *st, const char *name)
{
	Region	   *r = palloc0(sizeof(Region));

	/* it becomes part of a host name: nothing but a region's characters */
	if (!fu_valid_region(name))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid AWS region \"%s\"", name),
				 errhint("Regions are names such as us-east-1 or eu-west-1.")));

	r->name = pstrdup(name);
	st->regions = lappend(st->regions, r);
	return r;
}

/* Regions: the quals', else the server's "regions", else its "region" */
static void
choose_regions(FuScan *scan, MState *st, List *from_quals, bool constrained)
{
	ListCell   *lc;

	if (constrained)
	{
		foreach(lc, from_quals)
			add_region(st, (char *) lfirst(lc));
		return;
	}
	{
		char	   *regions = fu_get_option(scan->server->options, "regions");
		char	   *region = fu_get_option(scan->server->options, "region");

		if (regions)
		{
			ListCell   *lr;

			foreach(lr, fu_split_list(regions))
				add_region(st, (char *) lfirst(lr));
		}
		if (st->regions == NIL)
			add_region(st, region ? region : DEFAULT_REGION);
	}
}

static const char *
unit_of(const char *metric)
{
	for (int i = 0; metric_units[i][0]; i++)
		if (strcmp(metric_units[i][0], metric) == 0)
			return metric_units[i][1];
	return NULL;
}

static int
dim_cmp(const void *a, const void *b)
{
	return strcmp(((const Dim *) a)->name, ((const Dim *) b)->name);
}

/* A series, with its column values computed once */
static Series *
make_series(Region *region, int region_idx, const ResourceType *type,
			const char *namespace, const char *metric, List *dims)
{
	Series	   *s = palloc0(sizeof(Series));
	StringInfoData js;
	ListCell   *lc;
	const char *unit = unit_of(metric);

	s->region = region_idx;
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
		type = type_of_namespace(namespace);
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
	s->d_dims = DirectFunctionCall1(jsonb_in, CStringGetDatum(js.data));
	s->d_region = fu_text_datum(region->name);
	s->d_namespace = fu_text_datum(s->namespace);
	s->d_metric = fu_text_datum(s->metric);
	s->d_type = s->type ? CStringGetTextDatum(s->type->name) : (Datum) 0;
	s->d_id = s->resource_id ? fu_text_datum(s->resource_id) : (Datum) 0;
	s->d_unit = unit ? CStringGetTextDatum(unit) : (Datum) 0;
	region->series = lappend(region->series, s);
	return s;
}

static Dim *
make_dim(const char *name, const char *value)
{
	Dim		   *d = palloc(sizeof(Dim));

	d->name = pstrdup(name);
	d->value = pstrdup(value);
	return d;
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

static char *
cloudwatch_url(FuScan *scan, const char *region)
{
	return fu_aws_endpoint(scan, psprintf("monitoring.%s.amazonaws.com", region));
}

/* GetMetricData requests for the series of a region, 500 queries each */
static void
add_data_requests(FuScan *scan, MState *st, Region *region)
{
	int			total = list_length(region->series) * st->nstats;
	int64		points = Max((st->end - st->start + st->period - 1) / st->period, 1);
	int			per_call;
	int			nbatches;
	int			q = 0;

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
			appendStringInfo(&body, "{\"Id\":\"m%d\",\"MetricStat\":{\"Metric\":{\"Namespace\":", i);
			escape_json(&body, s->namespace);
			appendStringInfoString(&body, ",\"MetricName\":");
			escape_json(&body, s->metric);
			appendStringInfoString(&body, ",\"Dimensions\":[");
			for (int d = 0; d < s->ndims; d++)
			{
				appendStringInfoString(&body, d > 0 ? ",{\"Name\":" : "{\"Name\":");
				escape_json(&body, s->dims[d].name);
				appendStringInfoString(&body, ",\"Value\":");
				escape_json(&body, s->dims[d].value);
				appendStringInfoChar(&body, '}');
			}
			appendStringInfo(&body, "]},\"Period\":%d,\"Stat\":", st->period);
			escape_json(&body, st->stats[stat]);
			appendStringInfoString(&body, "},\"ReturnData\":true}");
		}
		appendStringInfo(&body, "],\"StartTime\":" INT64_FORMAT ",\"EndTime\":" INT64_FORMAT ",\"ScanBy\":\"TimestampAscending\"}",
						 st->start, st->end);
		req = fu_add_request(scan,
							 nbatches > 1 ?
							 psprintf("AWS CloudWatch GetMetricData in %s (batch %d of %d)",
									  region->name, b + 1, nbatches) :
							 psprintf("AWS CloudWatch GetMetricData in %s", region->name),
							 "POST", cloudwatch_url(scan, region->name), body.data);
		req->pdata = ri;
		req->explain_tag = region->name;
		st->nqueries += n;
	}
	region->nbatches = nbatches;
}

/* A ListMetrics request: one namespace (or metric name) of a region */
static void
add_list_request(FuScan *scan, MState *st, Region *region,
				 const ResourceType *type, const char *namespace)
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
	if (list_length(st->metric_names) == 1)
	{
		appendStringInfoString(&body, first ? "\"MetricName\":" : ",\"MetricName\":");
		escape_json(&body, (char *) linitial(st->metric_names));
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
	ri->list_metrics = true;
	ri->type = type;
	req = fu_add_request(scan, psprintf("AWS CloudWatch ListMetrics in %s", region->name),
						 "POST", cloudwatch_url(scan, region->name), body.data);
	req->pdata = ri;
	req->explain_tag = region->name;
	req->discovery = true;
	st->discovery = true;
	region->discovering++;
}

static void
metrics_begin(FuScan *scan)
{
	MState	   *st = palloc0(sizeof(MState));
	ListCell   *lc;
	List	   *regions = NIL;
	List	   *types = NIL;
	List	   *stats = NIL;
	bool		c_regions = false,
				c_types = false,
				c_ns = false,
				c_names = false,
				c_ids = false,
				c_stats = false;
	int			ri;
	List	   *periods = NIL;
	bool		c_periods = false;

	scan->pstate = st;
	st->default_period = true;

	foreach(lc, scan->quals)
	{
		FuQual	   *q = (FuQual *) lfirst(lc);

		if (!q->known)
			continue;
		switch (q->col)
		{
			case COL_REGION:
				regions = merge_values(regions, &c_regions, qual_strings(q));
				break;
			case COL_RESOURCE_TYPE:
				types = merge_values(types, &c_types, qual_strings(q));
				break;
			case COL_NAMESPACE:
				st->namespaces = merge_values(st->namespaces, &c_ns, qual_strings(q));
				break;
			case COL_METRIC_NAME:
				st->metric_names = merge_values(st->metric_names, &c_names, qual_strings(q));
				break;
			case COL_RESOURCE_ID:
				st->resource_ids = merge_values(st->resource_ids, &c_ids, qual_strings(q));
				break;
			case COL_STATISTIC:
				stats = merge_values(stats, &c_stats, qual_strings(q));
				break;
			case COL_PERIOD:
				periods = merge_periods(periods, &c_periods, q);
				break;
		}
	}

	if (c_periods)
	{
		if (periods == NIL)
			return;				/* period = 60 AND period = 300 */
		if (list_length(periods) > 1)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("aws_metrics reads one period at a time"),
					 errhint("Query each period separately and combine them with UNION ALL.")));
		st->period = (int) linitial_int(periods);
		st->default_period = false;
	}

	foreach(lc, types)
	{
		const ResourceType *t = find_type((char *) lfirst(lc));

		if (t == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown aws_metrics resource_type \"%s\"", (char *) lfirst(lc)),
					 errhint("Known types are ec2, rds, lambda, dynamodb, s3, elb and alb; for other services use namespace.")));
		/* a namespace qual must agree */
		if (!c_ns || list_has(st->namespaces, t->namespace))
			st->types = lappend(st->types, (void *) t);
	}
	if (!c_stats)
		stats = list_make1("Average");
	foreach(lc, stats)
		if (!valid_statistic((char *) lfirst(lc)))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid aws_metrics statistic \"%s\"", (char *) lfirst(lc)),
					 errhint("Use Average, Sum, Minimum, Maximum, SampleCount or a percentile such as p99.")));
	st->nstats = list_length(stats);
	st->stats = palloc(sizeof(char *) * Max(st->nstats, 1));
	st->d_stats = palloc(sizeof(Datum) * Max(st->nstats, 1));
	foreach(lc, stats)
	{
		st->stats[foreach_current_index(lc)] = (char *) lfirst(lc);
		st->d_stats[foreach_current_index(lc)] = CStringGetTextDatum((char *) lfirst(lc));
	}

	/* conditions that leave nothing to ask for */
	if ((c_types && st->types == NIL) || (c_ns && st->namespaces == NIL) ||
		(c_names && st->metric_names == NIL) || (c_ids && st->resource_ids == NIL) ||
		st->nstats == 0 || (c_regions && regions == NIL))
		return;

	window_and_period(scan, st);
	if (st->start >= st->end)
		return;
	choose_regions(scan, st, regions, c_regions);

	ri = 0;
	foreach(lc, st->regions)
	{
		Region	   *region = (Region *) lfirst(lc);
		ListCell   *lt;

		if (list_length(st->types) == 1 && c_ids &&
			((const ResourceType *) linitial(st->types))->default_period == 0)
		{
			/*
			 * Every series is known: no discovery.  (Not for S3, whose
			 * buckets have one series per storage class; nor for several
			 * types, whose ids would be crossed with every type.)
			 */
			const ResourceType *t = (const ResourceType *) linitial(st->types);
			ListCell   *li;

			foreach(li, st->resource_ids)
			{
				ListCell   *lm;

				foreach(lm, type_metrics(st, t))
					make_series(region, ri, t, t->namespace, (char *) lfirst(lm),
								list_make1(make_dim(t->key, (char *) lfirst(li))));
			}
			add_data_requests(scan, st, region);
		}
		else if (st->types != NIL)
		{
			foreach(lt, st->types)
			{
				const ResourceType *t = (const ResourceType *) lfirst(lt);

				add_list_request(scan, st, region, t, t->namespace);
			}
		}
		else if (st->namespaces != NIL)
		{
			/* with resource ids, only series of the namespace's key dimension */
			foreach(lt, st->namespaces)
				add_list_request(scan, st, region,
								 c_ids ? type_of_namespace((char *) lfirst(lt)) : NULL,
								 (char *) lfirst(lt));
		}
		else
			add_list_request(scan, st, region, NULL, NULL);
		ri++;
	}
}

static void
metrics_prepare(FuScan *scan, FuRequest *req)
{
	ReqInfo    *ri = (ReqInfo *) req->pdata;

	fu_aws_prepare(scan, req, "monitoring", ri->region->name,
				   ri->list_metrics ?
				   "GraniteServiceVersion20100801.ListMetrics" :
				   "GraniteServiceVersion20100801.GetMetricData",
				   "application/x-amz-json-1.0", true);
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


static void
malformed(FuRequest *req, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
			 errmsg("malformed response from %s", req->label),
			 errdetail("%s", what)));
}

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
			malformed(st->page_req, "A result has different numbers of Timestamps and Values.");
		if (st->result_id == NULL || st->result_id[0] != 'm' ||
			!isdigit((unsigned char) st->result_id[1]) ||
			(q = (int) strtol(st->result_id + 1, &end, 10)) < 0 || *end != '\0' ||
			q >= ri->nqueries)
			malformed(st->page_req, psprintf("A result has an unknown Id \"%s\".",
											 st->result_id ? st->result_id : ""));
		if (st->result_status &&
			(strcmp(st->result_status, "Forbidden") == 0 ||
			 strcmp(st->result_status, "InternalError") == 0))
			ereport(ERROR,
					(errcode(ERRCODE_FDW_ERROR),
					 errmsg("%s returned status %s for metric %s", st->page_req->label,
							st->result_status, ri->queries[q].series->metric)));
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
json_number(MState *st, char *token, int type)
{
	char	   *end;
	double		d;

	if (type != JSON_TOKEN_NUMBER)
		malformed(st->page_req, "A timestamp or value is not a number.");
	d = strtod(token, &end);
	if (*end != '\0')
		malformed(st->page_req, psprintf("\"%s\" is not a number.", token));
	return d;
}

static void
gmd_scalar(void *arg, FuJsonWalk *w, char *token, int type)
{
	MState	   *st = (MState *) arg;

	if (w->depth == 1)
	{
		if (fu_walk_at(w, 1, F_NextToken) && type == JSON_TOKEN_STRING)
			st->next_token = token;
		return;
	}
	if (!fu_walk_at(w, 1, F_MetricDataResults))
		return;
	if (w->depth == 3)
	{
		if (fu_walk_at(w, 3, F_Id) && type == JSON_TOKEN_STRING)
			st->result_id = token;
		else if (fu_walk_at(w, 3, F_StatusCode) && type == JSON_TOKEN_STRING)
			st->result_status = token;
	}
	else if (w->depth == 4 && fu_walk_at(w, 3, F_Timestamps))
	{
		int			idx = st->result_start + st->result_nts++;

		use_point(st, idx);
		st->ts[idx] = json_number(st, token, type);
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
	if (st->namespaces != NIL && !list_has(st->namespaces, st->lm_namespace))
		return false;
	if (st->metric_names != NIL && !list_has(st->metric_names, st->lm_metric))
		return false;
	if (t == NULL)
		t = type_of_namespace(st->lm_namespace);
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
	if (st->resource_ids != NIL && (id == NULL || !list_has(st->resource_ids, id)))
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
			int			region_idx = 0;
			ListCell   *lc;
			MemoryContext old;

			foreach(lc, st->regions)
				if (lfirst(lc) == ri->region)
					region_idx = foreach_current_index(lc);
			/* series outlive the page */
			old = MemoryContextSwitchTo(st->page_req->scan->req_cxt);
			make_series(ri->region, region_idx, ri->type, st->lm_namespace,
						st->lm_metric, st->lm_dims);
			MemoryContextSwitchTo(old);
		}
	}
}

static void
lm_scalar(void *arg, FuJsonWalk *w, char *token, int type)
{
	MState	   *st = (MState *) arg;

	if (w->depth == 1)
	{
		if (fu_walk_at(w, 1, F_NextToken) && type == JSON_TOKEN_STRING)
			st->next_token = token;
		return;
	}
	if (!fu_walk_at(w, 1, F_Metrics) || type != JSON_TOKEN_STRING)
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

static bool
metrics_parse_page(FuScan *scan, FuRequest *req, char *body, size_t len)
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
						 ri->list_metrics ? &lm_handlers : &gmd_handlers, st);

	if (st->next_token)
	{
		fu_next_page_body(req, "NextToken", st->next_token);
		return true;
	}

	/* a region whose discovery is over gets its data requests */
	if (ri->list_metrics && --ri->region->discovering == 0)
	{
		MemoryContext old = MemoryContextSwitchTo(scan->req_cxt);

		add_data_requests(scan, st, ri->region);
		MemoryContextSwitchTo(old);
	}
	return false;
}

/* ---------- rows ---------- */

static bool
metrics_next_row(FuScan *scan, Datum *values, bool *nulls)
{
	MState	   *st = (MState *) scan->pstate;
	ReqInfo    *ri;
	MetricQuery	   *q;
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
	values[COL_TS] = TimestampTzGetDatum((TimestampTz)
										 ((t - (double) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY) * USECS_PER_SEC));
	nulls[COL_TS] = false;
	values[COL_VALUE] = Float8GetDatum(st->vals[st->cur]);
	nulls[COL_VALUE] = false;
	st->cur++;
	return true;
}

/* An epoch second as "YYYY-MM-DD HH:MM:SS UTC" */
static char *
epoch_text(int64 e)
{
	int64		days = e / SECS_PER_DAY;
	int64		secs = e % SECS_PER_DAY;
	int			y,
				m,
				d;

	if (secs < 0)
	{
		secs += SECS_PER_DAY;
		days--;
	}
	j2date((int) (days + UNIX_EPOCH_JDATE), &y, &m, &d);
	return psprintf("%04d-%02d-%02d %02d:%02d:%02d UTC", y, m, d,
					(int) (secs / 3600), (int) (secs / 60 % 60), (int) (secs % 60));
}

static void
metrics_explain(FuScan *scan, ExplainState *es)
{
	MState	   *st = (MState *) scan->pstate;

	if (st == NULL || st->nstats == 0 || st->start >= st->end)
		return;
	ExplainPropertyText("Window",
						psprintf("%s to %s%s, period %d s%s",
								 epoch_text(st->start), epoch_text(st->end),
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
	if (st->discovery && now_epoch() - st->start > 14 * SECS_PER_DAY)
		ExplainPropertyText("Note",
							"ListMetrics lists only series with data in the last two weeks; name resource_id to reach older resources",
							es);
}

const FuSource fu_source_aws_metrics = {
	.name = "aws_metrics",
	.provider = "aws",
	.api = "AWS CloudWatch",
	.columns = metrics_columns,
	.ncolumns = NUM_COLS,
	.paged = true,
	.call_price = 0,
	.classify_qual = metrics_classify_qual,
	.plan = metrics_plan,
	.begin = metrics_begin,
	.prepare = metrics_prepare,
	.check = fu_aws_check,
	.report_error = fu_aws_report_error,
	.parse_page = metrics_parse_page,
	.next_row = metrics_next_row,
	.explain = metrics_explain,
};
