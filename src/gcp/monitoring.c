/*-------------------------------------------------------------------------
 *
 * monitoring.c
 *		  gcp_metrics: Cloud Monitoring time series (projects.timeSeries.list)
 *		  as a foreign table.
 *
 * timeSeries.list reads one metric type per call, so a scan sends one
 * request per project, metric type, aligner and period.  The metric types
 * are the metric_type qual's, those a "LIKE 'prefix%'" finds through
 * metricDescriptors.list first, or the defaults of the resource type.
 *
 * Reads are start-exclusive and end-inclusive, "(startTime, endTime]", and
 * aligned points are spaced alignmentPeriod apart ending at endTime: the
 * window is moved onto the period's grid, so that every query sees the
 * same points whatever its window, and a "[a, b)" window neither loses nor
 * adds one.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "gcp.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

enum
{
	COL_PROJECT_ID,
	COL_METRIC_TYPE,
	COL_RESOURCE_TYPE,
	COL_RESOURCE_ID,
	COL_RESOURCE_LABELS,
	COL_METRIC_LABELS,
	COL_ALIGNER,
	COL_PERIOD,
	COL_TS,
	COL_VALUE,
	COL_VALUE_TYPE,
	COL_UNIT,
	NUM_COLS
};

#define DEFAULT_PERIOD		300
#define MAX_PERIOD			(104 * 7 * 86400)	/* 104 weeks */

static const char *const aligners[] = {
	"ALIGN_NONE", "ALIGN_DELTA", "ALIGN_RATE", "ALIGN_INTERPOLATE",
	"ALIGN_NEXT_OLDER", "ALIGN_MIN", "ALIGN_MAX", "ALIGN_MEAN", "ALIGN_COUNT",
	"ALIGN_SUM", "ALIGN_STDDEV", "ALIGN_COUNT_TRUE", "ALIGN_COUNT_FALSE",
	"ALIGN_FRACTION_TRUE", "ALIGN_PERCENTILE_99", "ALIGN_PERCENTILE_95",
	"ALIGN_PERCENTILE_50", "ALIGN_PERCENTILE_05", "ALIGN_PERCENT_CHANGE", NULL
};

static bool valid_resource_type(const char *s);
static bool valid_period(const char *s);

static const FuColumn metrics_columns[NUM_COLS] = {
	{"project_id", TEXTOID, FU_OPS_SET, FU_COL_PER_VALUE, NULL,
	fu_gcp_valid_project, "project ids such as \"my-project-123\""},
	{"metric_type", TEXTOID, FU_OPS_SET | FU_OPMASK(FU_OP_PREFIX)},
	{"resource_type", TEXTOID, FU_OPS_SET, 0, NULL, valid_resource_type,
	"monitored resource types such as gce_instance, cloudsql_database, gcs_bucket or k8s_container"},
	{"resource_id", TEXTOID, FU_OPS_SET},
	{"resource_labels", JSONBOID, 0},
	{"metric_labels", JSONBOID, 0},
	{"aligner", TEXTOID, FU_OPS_SET, FU_COL_PER_VALUE, aligners},
	{"period", INT4OID, FU_OPS_SET, FU_COL_PER_VALUE, NULL, valid_period,
	"whole seconds from 60 to 62899200 (104 weeks)"},
	{"ts", TIMESTAMPTZOID, FU_OPS_RANGE},
	{"value", FLOAT8OID, 0},
	{"value_type", TEXTOID, 0},
	{"unit", TEXTOID, 0},
};

/*
 * Monitored resource types: the label that identifies a resource (what
 * resource_id is), the metric-type prefixes that belong to it, and the
 * metrics read when a query names none (the seed's, with its wrong types
 * for Cloud SQL and Cloud Storage corrected).
 */
typedef struct GcpResourceType
{
	const char *name;
	const char *id_label;
	const char *const *prefixes;
	const char *const *metrics;
} GcpResourceType;

static const GcpResourceType resource_types[] = {
	{"gce_instance", "instance_id",
		(const char *const[]) {"compute.googleapis.com/instance/", "agent.googleapis.com/",
		"networking.googleapis.com/vm_flow/", NULL},
		(const char *const[]) {"compute.googleapis.com/instance/cpu/utilization",
			"compute.googleapis.com/instance/network/received_bytes_count",
		"compute.googleapis.com/instance/network/sent_bytes_count", NULL}},
	{"cloudsql_database", "database_id",
		(const char *const[]) {"cloudsql.googleapis.com/database/", NULL},
		(const char *const[]) {"cloudsql.googleapis.com/database/cpu/utilization",
		"cloudsql.googleapis.com/database/memory/utilization", NULL}},
	{"gcs_bucket", "bucket_name",
		(const char *const[]) {"storage.googleapis.com/", NULL},
		(const char *const[]) {"storage.googleapis.com/storage/total_bytes",
		"storage.googleapis.com/api/request_count", NULL}},
	{"k8s_container", "container_name",
		(const char *const[]) {"kubernetes.io/container/", NULL},
		(const char *const[]) {"kubernetes.io/container/cpu/core_usage_time",
		"kubernetes.io/container/memory/used_bytes", NULL}},
	{"k8s_pod", "pod_name",
		(const char *const[]) {"kubernetes.io/pod/", NULL}, NULL},
	{"k8s_node", "node_name",
		(const char *const[]) {"kubernetes.io/node/", NULL}, NULL},
	{NULL, NULL, NULL, NULL}
};

/*
 * Cumulative counters among the defaults: the API refuses ALIGN_MEAN for
 * them, so their default aligner is ALIGN_RATE (per second).
 */
static const char *const cumulative_metrics[] = {
	"kubernetes.io/container/cpu/core_usage_time",
	"kubernetes.io/container/restart_count",
	"kubernetes.io/node/cpu/core_usage_time",
	"kubernetes.io/pod/network/received_bytes_count",
	"kubernetes.io/pod/network/sent_bytes_count",
	NULL
};

static bool
valid_resource_type(const char *s)
{
	if (s[0] == '\0' || strlen(s) > 128)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
			return false;
	return true;
}

static bool
valid_period(const char *s)
{
	char	   *end;
	long		v = strtol(s, &end, 10);

	return *end == '\0' && v >= 60 && v <= MAX_PERIOD;
}

static const GcpResourceType *
find_type(const char *name)
{
	for (const GcpResourceType *t = resource_types; t->name; t++)
		if (strcmp(t->name, name) == 0)
			return t;
	return NULL;
}

static const GcpResourceType *
type_of_metric(const char *metric)
{
	for (const GcpResourceType *t = resource_types; t->name; t++)
		for (const char *const *p = t->prefixes; *p; p++)
			if (strncmp(metric, *p, strlen(*p)) == 0)
				return t;
	return NULL;
}

static bool
in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

/* ---------- planning ---------- */

static FuPushdown
metrics_classify_qual(const FuSource *src, const FuQual *q)
{
	/* values of another type (name, varchar through a cast) stay local */
	if (q->col == COL_PERIOD)
		return (q->valtype == INT2OID || q->valtype == INT4OID ||
				q->valtype == INT8OID) ? FU_PUSH_EXACT : FU_PUSH_NONE;
	if (q->col == COL_TS)
		return (q->valtype == TIMESTAMPTZOID || q->valtype == DATEOID ||
				q->valtype == TIMESTAMPOID) ? FU_PUSH_RECHECK : FU_PUSH_NONE;
	if (q->valtype != TEXTOID)
		return FU_PUSH_NONE;
	/* rows exist per project and aligner: only the API decides */
	if (q->col == COL_PROJECT_ID || q->col == COL_ALIGNER)
		return FU_PUSH_EXACT;
	return FU_PUSH_RECHECK;
}

static List *
metrics_plan(FuPlanInfo *pi)
{
	bool		metric = fu_has_qual_on(pi->quals, COL_METRIC_TYPE);

	if (!metric && !fu_has_qual_on(pi->quals, COL_RESOURCE_TYPE))
		fu_plan_refuse(pi, ERRCODE_FEATURE_NOT_SUPPORTED,
					   psprintf("\"%s\" needs a condition on metric_type or resource_type",
								get_rel_name(pi->table->relid)),
					   "Cloud Monitoring reads one metric type per call; reading them all is slow and counts against the project's quota.",
					   "Add for example WHERE metric_type = 'compute.googleapis.com/instance/cpu/utilization', or WHERE resource_type = 'gce_instance'.");

	/* a day of 5-minute points per series; a call per metric type */
	pi->rows = 288 * (fu_find_qual(pi->quals, COL_RESOURCE_ID, FU_OP_EQ) ? 1 : 10) *
		(fu_find_qual(pi->quals, COL_METRIC_TYPE, FU_OP_EQ) ? 1 : 3);
	pi->calls = fu_find_qual(pi->quals, COL_METRIC_TYPE, FU_OP_EQ) ? 1 : 3;
	return NIL;
}

/* ---------- scan start ---------- */

/* One timeSeries.list call: what its rows share */
typedef struct SeriesReq
{
	Datum		d_project;
	Datum		d_aligner;
	int			period;			/* 0: ALIGN_NONE */
} SeriesReq;

/* What the quals ask for */
typedef struct MQuals
{
	List	   *projects;
	List	   *metrics;
	List	   *prefixes;
	List	   *types;
	List	   *ids;
	List	   *aligners;
	List	   *periods;		/* of int */
	bool		c_projects,
				c_metrics,
				c_types,
				c_ids,
				c_aligners,
				c_periods;
} MQuals;

typedef struct Point
{
	int			series;
	TimestampTz ts;
	double		value;
	bool		isnull;
} Point;

typedef struct Series
{
	char	   *metric_type;
	char	   *resource_type;
	char	   *value_type;
	char	   *unit;
	char	   *resource_id;
	List	   *rkeys;			/* resource label names and values */
	List	   *rvals;
	StringInfoData rlabels;
	StringInfoData mlabels;
	Datum		d_metric,
				d_rtype,
				d_id,
				d_rlabels,
				d_mlabels,
				d_vtype,
				d_unit;
} Series;

typedef struct MState
{
	MQuals		mq;
	int64		lo;				/* exclusive start, Unix microseconds */
	int64		hi;				/* inclusive end */
	char	   *base;

	/* the page */
	FuRequest  *req;
	Series	   *series;
	int			nseries;
	int			maxseries;
	Point	   *points;
	int			npoints;
	int			maxpoints;
	int			cur;
	bool		in_point;
	Point		point;
	double		dist_mean;
	bool		dist_seen;
	char	   *next_token;
	List	   *found;			/* discovery: Descriptor * */
	char	   *exec_error;		/* executionErrors: a part could not be read */
	bool		partial;
	char	   *d_type;			/* the descriptor being read */
	char	   *d_kind;
	char	   *d_vtype;
} MState;

/* A metric type metricDescriptors.list found */
typedef struct Descriptor
{
	char	   *type;
	char	   *kind;			/* GAUGE, DELTA, CUMULATIVE; NULL: unknown */
	char	   *vtype;			/* DOUBLE, BOOL, STRING...; NULL: unknown */
} Descriptor;

/* A period qual's value; a value no period can be matches none */
static int
period_value(FuQual *q, Datum d)
{
	int64		v = q->valtype == INT8OID ? DatumGetInt64(d) :
		q->valtype == INT2OID ? DatumGetInt16(d) : DatumGetInt32(d);

	return (v < 60 || v > MAX_PERIOD) ? -1 : (int) v;
}

static List *
period_values(FuQual *q)
{
	List	   *l = NIL;

	if (q->op == FU_OP_EQ)
		return period_value(q, q->value) < 0 ? NIL :
			list_make1_int(period_value(q, q->value));
	for (int i = 0; i < q->nelems; i++)
		if (!q->elemnulls[i] && period_value(q, q->elems[i]) >= 0)
			l = list_append_unique_int(l, period_value(q, q->elems[i]));
	return l;
}

static List *
intersect_ints(List *have, bool *constrained, List *more)
{
	if (!*constrained)
	{
		*constrained = true;
		return more;
	}
	return list_intersection_int(have, more);
}

#define UNIX_EPOCH_USECS	((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY)

/* The (lo, hi] window of the ts quals, in Unix microseconds */
static void
read_window(FuScan *scan, MState *st)
{
	int64		now = fu_now_epoch() * USECS_PER_SEC;
	bool		lo_set = false;
	ListCell   *lc;

	st->lo = PG_INT64_MIN;
	st->hi = PG_INT64_MAX;
	foreach(lc, scan->quals)
	{
		FuQual	   *q = (FuQual *) lfirst(lc);
		int64		v;
		int64		slack = 0;

		if (!q->known || q->col != COL_TS || q->isnull)
			continue;
		if (q->valtype == TIMESTAMPTZOID)
		{
			TimestampTz t = DatumGetTimestampTz(q->value);

			if (TIMESTAMP_NOT_FINITE(t))
				v = TIMESTAMP_IS_NOBEGIN(t) ? PG_INT64_MIN / 2 : PG_INT64_MAX / 2;
			else
				v = t + UNIX_EPOCH_USECS;
		}
		else
		{
			/* a date or a timestamp without zone: a day either way, rechecked */
			double		e = fu_qual_epoch(q);

			v = isinf(e) ? (e < 0 ? PG_INT64_MIN / 2 : PG_INT64_MAX / 2) :
				(int64) (Max(Min(e, 1e11), -1e11) * USECS_PER_SEC);
			slack = USECS_PER_DAY;
		}
		if (q->op == FU_OP_GT || q->op == FU_OP_GE || q->op == FU_OP_EQ)
		{
			/* reads exclude startTime: start just before a >= bound */
			st->lo = Max(st->lo, v - slack - (q->op == FU_OP_GT ? 0 : 1));
			lo_set = true;
		}
		if (q->op == FU_OP_LT)
			st->hi = Min(st->hi, v + slack - 1);
		else if (q->op == FU_OP_LE || q->op == FU_OP_EQ)
			st->hi = Min(st->hi, v + slack);
	}
	st->hi = Min(st->hi, now);
	if (!lo_set)
		st->lo = st->hi - USECS_PER_DAY;
	/* nothing is older than 1970: an unbounded start is that */
	st->lo = Max(st->lo, -1);
}

/* RFC 3339 in UTC, with microseconds when there are any */
static char *
rfc3339(int64 usecs)
{
	int64		secs = usecs / USECS_PER_SEC;
	int64		frac = usecs % USECS_PER_SEC;
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
	if (frac)
		return psprintf("%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", y, m, d,
						(int) (secs / 3600), (int) (secs / 60 % 60),
						(int) (secs % 60), (int) frac);
	return psprintf("%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d,
					(int) (secs / 3600), (int) (secs / 60 % 60), (int) (secs % 60));
}

/* A string literal of the filter language: quoted, " and \ escaped */
static void
append_literal(StringInfo buf, const char *s)
{
	appendStringInfoChar(buf, '"');
	for (; *s; s++)
	{
		if (*s == '"' || *s == '\\')
			appendStringInfoChar(buf, '\\');
		appendStringInfoChar(buf, *s);
	}
	appendStringInfoChar(buf, '"');
}

/* "(sel = "a")", or "((sel = "a") OR (sel = "b"))" */
static void
append_any(StringInfo buf, const char *selector, List *values)
{
	ListCell   *lc;

	if (list_length(values) > 1)
		appendStringInfoChar(buf, '(');
	foreach(lc, values)
	{
		if (foreach_current_index(lc) > 0)
			appendStringInfoString(buf, " OR ");
		appendStringInfo(buf, "(%s = ", selector);
		append_literal(buf, (char *) lfirst(lc));
		appendStringInfoChar(buf, ')');
	}
	if (list_length(values) > 1)
		appendStringInfoChar(buf, ')');
}

/* The label that names the resources of the query's types, or NULL */
static const char *
id_label(MState *st, const char *metric)
{
	const char *label = NULL;
	ListCell   *lc;

	if (!st->mq.c_types)
	{
		const GcpResourceType *t = type_of_metric(metric);

		return t ? t->id_label : NULL;
	}
	foreach(lc, st->mq.types)
	{
		const GcpResourceType *t = find_type((char *) lfirst(lc));

		if (t == NULL || (label && strcmp(label, t->id_label) != 0))
			return NULL;
		label = t->id_label;
	}
	return label;
}

static char *
series_filter(MState *st, const char *metric)
{
	StringInfoData buf;
	const char *label;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "(metric.type = ");
	append_literal(&buf, metric);
	appendStringInfoChar(&buf, ')');
	if (st->mq.c_types)
	{
		appendStringInfoString(&buf, " AND ");
		append_any(&buf, "resource.type", st->mq.types);
	}
	if (st->mq.c_ids && (label = id_label(st, metric)) != NULL)
	{
		appendStringInfoString(&buf, " AND ");
		append_any(&buf, psprintf("resource.labels.%s", label), st->mq.ids);
	}
	return buf.data;
}

/*
 * The requests of one metric type.  kind and vtype, when known (a
 * discovered type), choose the default aligner as for the known ones: a
 * cumulative counter's rate, a boolean's fraction true; text values have no
 * aligned form and are read only when an aligner is named.
 */
static void
add_series_requests(FuScan *scan, MState *st, const char *project,
					const char *metric, const char *kind, const char *vtype)
{
	List	   *aligners = st->mq.aligners;
	ListCell   *la;

	if (!st->mq.c_aligners)
	{
		const char *aligner = "ALIGN_MEAN";

		if (vtype && strcmp(vtype, "STRING") == 0)
			return;
		if (vtype && strcmp(vtype, "BOOL") == 0)
			aligner = "ALIGN_FRACTION_TRUE";
		else if ((kind && strcmp(kind, "CUMULATIVE") == 0) ||
				 in_list(metric, cumulative_metrics))
			aligner = "ALIGN_RATE";
		aligners = list_make1((char *) aligner);
	}
	foreach(la, aligners)
	{
		char	   *aligner = (char *) lfirst(la);
		bool		none = strcmp(aligner, "ALIGN_NONE") == 0;
		List	   *periods = st->mq.c_periods ? st->mq.periods :
			list_make1_int(DEFAULT_PERIOD);
		ListCell   *lp;

		/* raw points have no period: another aligner's rows may match */
		if (none && st->mq.c_periods && list_length(aligners) > 1)
			continue;
		if (none && st->mq.c_periods)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
					 errmsg("period of \"%s\" needs an aligner other than ALIGN_NONE",
							RelationGetRelationName(scan->rel)),
					 errdetail("ALIGN_NONE returns the points as they were written, without an alignment period.")));
		if (none)
			periods = list_make1_int(0);
		foreach(lp, periods)
		{
			int			period = lfirst_int(lp);
			int64		p = (int64) period * USECS_PER_SEC;
			int64		end = st->hi;
			SeriesReq  *sr;
			FuRequest  *req;

			/* aligned points end on the period's grid, the last at endTime */
			if (period)
				end = (end >= 0 ? end / p : -((-end + p - 1) / p)) * p;
			if (end <= st->lo)
				continue;
			req = fu_request_new(scan, psprintf("Cloud Monitoring timeSeries.list of %s", metric),
								 "GET", st->base,
								 psprintf("v3/projects/%s/timeSeries", fu_url_encode(project)));
			fu_request_param(req, "filter", series_filter(st, metric));
			fu_request_param(req, "interval.startTime", rfc3339(st->lo));
			fu_request_param(req, "interval.endTime", rfc3339(end));
			if (period)
			{
				fu_request_param(req, "aggregation.alignmentPeriod",
								 psprintf("%ds", period));
				fu_request_param(req, "aggregation.perSeriesAligner", aligner);
			}
			fu_request_param(req, "view", "FULL");
			/* list price: USD 0.01 per 1,000 read calls */
			req->price = 0.00001;
			sr = palloc(sizeof(SeriesReq));
			sr->d_project = fu_text_datum(project);
			sr->d_aligner = CStringGetTextDatum(aligner);
			sr->period = period;
			req->pdata = sr;
		}
	}
}

static void
metrics_begin(FuScan *scan)
{
	MState	   *st = palloc0(sizeof(MState));
	MQuals	   *mq = &st->mq;
	List	   *metrics;
	ListCell   *lc;
	ListCell   *lp;

	scan->pstate = st;
	st->base = fu_base_url(scan->server, GCP_MONITORING_HOST);
	foreach(lc, scan->quals)
	{
		FuQual	   *q = (FuQual *) lfirst(lc);

		if (!q->known || q->isnull)
			continue;
		switch (q->col)
		{
			case COL_PROJECT_ID:
				mq->projects = fu_intersect_strings(mq->projects, &mq->c_projects,
													fu_qual_strings(q));
				break;
			case COL_METRIC_TYPE:
				if (q->op == FU_OP_PREFIX)
					mq->prefixes = lappend(mq->prefixes, fu_qual_text(q->value));
				else
					mq->metrics = fu_intersect_strings(mq->metrics, &mq->c_metrics,
													   fu_qual_strings(q));
				break;
			case COL_RESOURCE_TYPE:
				mq->types = fu_intersect_strings(mq->types, &mq->c_types,
												 fu_qual_strings(q));
				break;
			case COL_RESOURCE_ID:
				if (q->op == FU_OP_EQ || q->op == FU_OP_IN)
					mq->ids = fu_intersect_strings(mq->ids, &mq->c_ids,
												   fu_qual_strings(q));
				break;
			case COL_ALIGNER:
				mq->aligners = fu_intersect_strings(mq->aligners, &mq->c_aligners,
													fu_qual_strings(q));
				break;
			case COL_PERIOD:
				mq->periods = intersect_ints(mq->periods, &mq->c_periods,
											 period_values(q));
				break;
		}
	}
	if (!mq->c_projects)
		mq->projects = list_make1(fu_gcp_project(scan->server));
	read_window(scan, st);
	if (st->hi <= st->lo || (mq->c_ids && mq->ids == NIL) ||
		(mq->c_types && mq->types == NIL))
		return;

	/* the metric types: named, to discover, or the resource types' */
	metrics = mq->metrics;
	if (!mq->c_metrics && mq->prefixes == NIL)
	{
		foreach(lc, mq->types)
		{
			const GcpResourceType *t = find_type((char *) lfirst(lc));

			if (t == NULL || t->metrics == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
						 errmsg("\"%s\" has no default metrics for resource type \"%s\"",
								RelationGetRelationName(scan->rel),
								fu_api_text((char *) lfirst(lc))),
						 errhint("Name the metrics with metric_type = '...' or metric_type LIKE 'prefix%%'; resource types with defaults are gce_instance, cloudsql_database, gcs_bucket and k8s_container.")));
			for (const char *const *m = t->metrics; *m; m++)
				if (!fu_string_member(metrics, *m))
					metrics = lappend(metrics, (char *) *m);
		}
	}
	else if (mq->prefixes != NIL && mq->c_metrics)
	{
		/* named types must also start with every prefix */
		List	   *keep = NIL;

		foreach(lc, metrics)
		{
			bool		ok = true;

			foreach(lp, mq->prefixes)
				ok &= strncmp((char *) lfirst(lc), (char *) lfirst(lp),
							  strlen((char *) lfirst(lp))) == 0;
			if (ok)
				keep = lappend(keep, lfirst(lc));
		}
		metrics = keep;
	}

	foreach(lp, mq->projects)
	{
		char	   *project = (char *) lfirst(lp);

		if (!mq->c_metrics && mq->prefixes != NIL)
		{
			/* the longest prefix narrows the listing; every one is checked */
			char	   *prefix = NULL;
			StringInfoData f;
			FuRequest  *req;

			foreach(lc, mq->prefixes)
				if (prefix == NULL || strlen(lfirst(lc)) > strlen(prefix))
					prefix = (char *) lfirst(lc);
			initStringInfo(&f);
			appendStringInfoString(&f, "metric.type = starts_with(");
			append_literal(&f, prefix);
			appendStringInfoChar(&f, ')');
			req = fu_request_new(scan, "Cloud Monitoring metricDescriptors.list",
								 "GET", st->base,
								 psprintf("v3/projects/%s/metricDescriptors",
										  fu_url_encode(project)));
			fu_request_param(req, "filter", f.data);
			req->discovery = true;
			req->pdata = pstrdup(project);
			continue;
		}
		foreach(lc, metrics)
			add_series_requests(scan, st, project, (char *) lfirst(lc), NULL, NULL);
	}
}

/* ---------- page parsing ---------- */

enum
{
	F_timeSeries,
	F_nextPageToken,
	F_metric,
	F_resource,
	F_type,
	F_labels,
	F_valueType,
	F_unit,
	F_points,
	F_interval,
	F_endTime,
	F_value,
	F_doubleValue,
	F_int64Value,
	F_boolValue,
	F_distributionValue,
	F_mean,
	F_count,
	F_metricDescriptors,
	F_executionErrors,
	F_stringValue,
	F_metricKind,
	F_message,
};

static const char *const gm_names[] = {
	"timeSeries", "nextPageToken", "metric", "resource", "type", "labels",
	"valueType", "unit", "points", "interval", "endTime", "value",
	"doubleValue", "int64Value", "boolValue", "distributionValue", "mean",
	"count", "metricDescriptors", "executionErrors", "stringValue", "metricKind",
	"message", NULL
};

/* "2026-06-14T10:05:00Z", "...:00.5Z" or with an offset */
static bool
parse_time(const char *s, TimestampTz *t)
{
	int			y,
				mo,
				d,
				h,
				mi,
				sec,
				n = 0;
	int64		usec = 0;
	const char *p;

	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 ||
		n != 19)
		return fu_parse_timestamptz(s, t);
	p = s + 19;
	if (*p == '.')
	{
		int64		scale = 100000;

		for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
			if (scale > 0)
				usec += (*p - '0') * scale;
	}
	if (strcmp(p, "Z") != 0 || mo < 1 || mo > 12 || d < 1 || d > 31 ||
		h > 23 || mi > 59 || sec > 60)
		return fu_parse_timestamptz(s, t);
	*t = ((int64) (date2j(y, mo, d) - POSTGRES_EPOCH_JDATE) * SECS_PER_DAY +
		  h * 3600 + mi * 60 + sec) * USECS_PER_SEC + usec;
	return true;
}

static void
append_label(StringInfo buf, const char *key, const char *value)
{
	appendStringInfoString(buf, buf->len > 1 ? ", " : "");
	escape_json(buf, key);
	appendStringInfoString(buf, ": ");
	escape_json(buf, value);
}

static Datum
labels_datum(StringInfo buf)
{
	appendStringInfoChar(buf, '}');
	/* keys and values are UTF-8, as the API's; jsonb_in reads the server's */
	return DirectFunctionCall1(jsonb_in,
							   CStringGetDatum(pg_any_to_server(buf->data, buf->len,
																PG_UTF8)));
}

static void
gm_object_start(void *arg, FuJsonWalk *w)
{
	MState	   *st = (MState *) arg;

	if (w->depth == 3 && fu_walk_at(w, 1, F_metricDescriptors))
		st->d_type = st->d_kind = st->d_vtype = NULL;
	else if (w->depth == 3 && fu_walk_at(w, 1, F_timeSeries))
	{
		Series	   *s;

		st->series = fu_grow(st->series, st->nseries, &st->maxseries, sizeof(Series));
		s = &st->series[st->nseries++];
		memset(s, 0, sizeof(Series));
		initStringInfo(&s->rlabels);
		initStringInfo(&s->mlabels);
		appendStringInfoChar(&s->rlabels, '{');
		appendStringInfoChar(&s->mlabels, '{');
	}
	else if (w->depth == 5 && fu_walk_at(w, 3, F_points) && st->nseries > 0)
	{
		st->in_point = true;
		st->point.series = st->nseries - 1;
		st->point.ts = DT_NOBEGIN;
		st->point.isnull = true;
		st->point.value = 0;
		st->dist_seen = false;
		st->dist_mean = 0;
	}
}

static void
gm_object_end(void *arg, FuJsonWalk *w)
{
	MState	   *st = (MState *) arg;

	if (w->depth == 3 && fu_walk_at(w, 1, F_metricDescriptors) && st->d_type)
	{
		Descriptor *d = palloc(sizeof(Descriptor));

		d->type = st->d_type;
		d->kind = st->d_kind;
		d->vtype = st->d_vtype;
		st->found = lappend(st->found, d);
	}
	else if (w->depth == 3 && fu_walk_at(w, 1, F_timeSeries))
	{
		Series	   *s = &st->series[st->nseries - 1];
		const GcpResourceType *t = s->resource_type ? find_type(s->resource_type) : NULL;
		ListCell   *lk;
		ListCell   *lv;

		if (s->metric_type == NULL)
			fu_walk_malformed(w, "A time series has no metric type.");
		forboth(lk, s->rkeys, lv, s->rvals)
			if (t && strcmp((char *) lfirst(lk), t->id_label) == 0)
				s->resource_id = (char *) lfirst(lv);
		s->d_rlabels = labels_datum(&s->rlabels);
		s->d_mlabels = labels_datum(&s->mlabels);
		s->d_metric = fu_text_datum(s->metric_type);
		s->d_rtype = s->resource_type ? fu_text_datum(s->resource_type) : (Datum) 0;
		s->d_vtype = s->value_type ? fu_text_datum(s->value_type) : (Datum) 0;
		s->d_unit = s->unit ? fu_text_datum(s->unit) : (Datum) 0;
		s->d_id = s->resource_id ? fu_text_datum(s->resource_id) : (Datum) 0;
	}
	else if (w->depth == 5 && st->in_point && fu_walk_at(w, 3, F_points))
	{
		st->in_point = false;
		if (st->point.ts == DT_NOBEGIN)
			fu_walk_malformed(w, "A point has no end time.");
		if (st->dist_seen)
		{
			st->point.value = st->dist_mean;
			st->point.isnull = false;
		}
		st->points = fu_grow(st->points, st->npoints, &st->maxpoints, sizeof(Point));
		st->points[st->npoints++] = st->point;
	}
}

static double
parse_double(FuJsonWalk *w, const char *tok, FuJsonToken type)
{
	char	   *end;
	double		v;

	/* proto3 JSON: a number, or "NaN", "Infinity", "-Infinity" */
	if (type != FU_JSON_NUMBER && type != FU_JSON_STRING)
		fu_walk_malformed(w, "A point's value is not a number.");
	errno = 0;
	v = strtod(tok, &end);
	if (end == tok || *end != '\0' ||
		(type == FU_JSON_STRING && !isnan(v) && !isinf(v) &&
		 strspn(tok, "-0123456789") != strlen(tok)))
		fu_walk_malformed(w, psprintf("A point's value \"%s\" is not a number.",
									  fu_api_text(tok)));
	return v;
}

static void
gm_scalar(void *arg, FuJsonWalk *w, char *tok, FuJsonToken type)
{
	MState	   *st = (MState *) arg;
	Series	   *s;

	/* google.rpc.Status of the parts of the answer that failed */
	if (w->depth == 3 && fu_walk_at(w, 1, F_executionErrors))
	{
		st->partial = true;
		if (fu_walk_at(w, 3, F_message) && type == FU_JSON_STRING)
			st->exec_error = tok;
		return;
	}
	if (w->depth == 1)
	{
		/* proto3 JSON may send an empty token for "no more pages" */
		if (fu_walk_at(w, 1, F_nextPageToken) && type == FU_JSON_STRING && tok[0])
			st->next_token = tok;
		return;
	}
	/* metricDescriptors.list: the types found */
	if (st->req->discovery)
	{
		if (w->depth != 3 || !fu_walk_at(w, 1, F_metricDescriptors) ||
			type != FU_JSON_STRING)
			return;
		if (fu_walk_at(w, 3, F_type))
			st->d_type = tok;
		else if (fu_walk_at(w, 3, F_metricKind))
			st->d_kind = tok;
		else if (fu_walk_at(w, 3, F_valueType))
			st->d_vtype = tok;
		return;
	}
	if (!fu_walk_at(w, 1, F_timeSeries) || w->depth < 3 || st->nseries == 0)
		return;
	s = &st->series[st->nseries - 1];
	if (w->depth == 3)
	{
		if (type != FU_JSON_STRING)
			return;
		if (fu_walk_at(w, 3, F_valueType))
			s->value_type = tok;
		else if (fu_walk_at(w, 3, F_unit))
			s->unit = tok;
	}
	else if (w->depth == 4 && fu_walk_at(w, 4, F_type) && type == FU_JSON_STRING)
	{
		if (fu_walk_at(w, 3, F_metric))
			s->metric_type = tok;
		else if (fu_walk_at(w, 3, F_resource))
			s->resource_type = tok;
	}
	else if (w->depth == 5 && fu_walk_at(w, 4, F_labels) && type == FU_JSON_STRING)
	{
		if (fu_walk_at(w, 3, F_metric))
			append_label(&s->mlabels, w->key, tok);
		else if (fu_walk_at(w, 3, F_resource))
		{
			append_label(&s->rlabels, w->key, tok);
			/* which label names the resource: known once the type is */
			s->rkeys = lappend(s->rkeys, (char *) w->key);
			s->rvals = lappend(s->rvals, tok);
		}
	}
	else if (st->in_point && w->depth == 6 && fu_walk_at(w, 3, F_points))
	{
		if (fu_walk_at(w, 5, F_interval) && fu_walk_at(w, 6, F_endTime))
		{
			if (type != FU_JSON_STRING || !parse_time(tok, &st->point.ts))
				fu_walk_malformed(w, "A point's end time is not a timestamp.");
		}
		else if (fu_walk_at(w, 5, F_value))
		{
			if (fu_walk_at(w, 6, F_doubleValue) || fu_walk_at(w, 6, F_int64Value))
			{
				st->point.value = parse_double(w, tok, type);
				st->point.isnull = false;
			}
			else if (fu_walk_at(w, 6, F_boolValue))
			{
				st->point.value = (type == FU_JSON_TRUE) ? 1 : 0;
				st->point.isnull = false;
			}
		}
	}
	else if (st->in_point && w->depth == 7 && fu_walk_at(w, 3, F_points) &&
			 fu_walk_at(w, 5, F_value) && fu_walk_at(w, 6, F_distributionValue))
	{
		/* proto3 leaves out a zero mean and count: no count, no values */
		if (fu_walk_at(w, 7, F_mean))
			st->dist_mean = parse_double(w, tok, type);
		else if (fu_walk_at(w, 7, F_count))
			st->dist_seen = parse_double(w, tok, type) > 0;
	}
}

static const FuJsonHandlers gm_handlers = {
	.names = gm_names,
	.object_start = gm_object_start,
	.object_end = gm_object_end,
	.scalar = gm_scalar,
};

static void
metrics_parse_page(FuScan *scan, FuRequest *req, char *body, size_t len)
{
	MState	   *st = (MState *) scan->pstate;

	st->req = req;
	st->series = NULL;
	st->points = NULL;
	st->nseries = st->maxseries = st->npoints = st->maxpoints = st->cur = 0;
	st->in_point = false;
	st->next_token = NULL;
	st->found = NIL;
	st->partial = false;
	st->exec_error = NULL;
	fu_parse_json_events(req->label, body, len, &gm_handlers, st);

	/* part of the data could not be read: the rows would be incomplete */
	if (st->partial)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("%s returned partial results", req->label),
				 st->exec_error ?
				 errdetail("Cloud Monitoring says: %s", fu_api_text(st->exec_error)) : 0,
				 errhint("Run the query again later, or narrow it.")));

	if (req->discovery)
	{
		MemoryContext old = MemoryContextSwitchTo(scan->req_cxt);
		ListCell   *lc;

		foreach(lc, st->found)
		{
			Descriptor *d = (Descriptor *) lfirst(lc);
			bool		ok = true;
			ListCell   *lp;

			foreach(lp, st->mq.prefixes)
				ok &= strncmp(d->type, (char *) lfirst(lp),
							  strlen((char *) lfirst(lp))) == 0;
			if (ok)
				add_series_requests(scan, st, (char *) req->pdata, d->type,
									d->kind, d->vtype);
		}
		MemoryContextSwitchTo(old);
	}
	if (st->next_token)
		fu_next_query_token(req, "pageToken", st->next_token);
}

static bool
metrics_next_row(FuScan *scan, Datum *values, bool *nulls)
{
	MState	   *st = (MState *) scan->pstate;
	SeriesReq  *sr = (SeriesReq *) st->req->pdata;
	Point	   *p;
	Series	   *s;

	if (st->req->discovery || st->cur >= st->npoints)
		return false;
	p = &st->points[st->cur++];
	s = &st->series[p->series];

	values[COL_PROJECT_ID] = sr->d_project;
	nulls[COL_PROJECT_ID] = false;
	values[COL_ALIGNER] = sr->d_aligner;
	nulls[COL_ALIGNER] = false;
	values[COL_PERIOD] = Int32GetDatum(sr->period);
	nulls[COL_PERIOD] = sr->period == 0;
	values[COL_METRIC_TYPE] = s->d_metric;
	nulls[COL_METRIC_TYPE] = false;
	values[COL_RESOURCE_TYPE] = s->d_rtype;
	nulls[COL_RESOURCE_TYPE] = s->resource_type == NULL;
	values[COL_RESOURCE_ID] = s->d_id;
	nulls[COL_RESOURCE_ID] = s->resource_id == NULL;
	values[COL_RESOURCE_LABELS] = s->d_rlabels;
	nulls[COL_RESOURCE_LABELS] = false;
	values[COL_METRIC_LABELS] = s->d_mlabels;
	nulls[COL_METRIC_LABELS] = false;
	values[COL_TS] = TimestampTzGetDatum(p->ts);
	nulls[COL_TS] = false;
	values[COL_VALUE] = Float8GetDatum(p->value);
	nulls[COL_VALUE] = p->isnull;
	values[COL_VALUE_TYPE] = s->d_vtype;
	nulls[COL_VALUE_TYPE] = s->value_type == NULL;
	values[COL_UNIT] = s->d_unit;
	nulls[COL_UNIT] = s->unit == NULL;
	return true;
}

const FuSource fu_source_gcp_metrics = {
	.name = "gcp_metrics",
	.api = "Google Cloud Monitoring timeSeries.list",
	.columns = metrics_columns,
	.ncolumns = NUM_COLS,
	/* billed per time series read, not per call (README) */
	.call_price = 0,
	.paged = true,
	.classify_qual = metrics_classify_qual,
	.plan = metrics_plan,
	.begin = metrics_begin,
	.parse_page = metrics_parse_page,
	.next_row = metrics_next_row,
};
