/*-------------------------------------------------------------------------
 *
 * metrics.h
 *		  The state of an aws_metrics scan, shared by metrics.c (the
 *		  source), metrics_window.c (time window and period) and
 *		  cloudwatch.c (ListMetrics and GetMetricData requests and pages).
 *
 *-------------------------------------------------------------------------
 */
#ifndef FU_AWS_METRICS_H
#define FU_AWS_METRICS_H

#include "aws.h"

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

/* A resource type: its namespace, key dimension and usual metrics */
typedef struct ResourceType
{
	const char *name;
	const char *namespace;
	const char *key;
	const char *const *metrics;
	int			default_period; /* 0: by the window */
} ResourceType;

typedef struct Dim
{
	char	   *name;
	char	   *value;
} Dim;

/* One time series of one region */
typedef struct Series
{
	const ResourceType *type;	/* NULL: namespace without a mapping */
	char	   *resource_id;	/* value of the key dimension, or NULL */
	char	   *namespace;
	char	   *metric;
	int			ndims;
	Dim		   *dims;			/* sorted by name */
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
} Region;

/* What a request is for */
typedef struct ReqInfo
{
	Region	   *region;
	const ResourceType *type;	/* ListMetrics: the type looked for */
	int			nqueries;		/* GetMetricData */
	MetricQuery *queries;
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

/* metrics.c */
extern const ResourceType *fu_cw_type_of_namespace(const char *ns);
extern const char *fu_cw_unit(const char *namespace, const char *metric);

/* metrics_window.c */
extern bool fu_cw_valid_period(const char *text);
extern int	fu_cw_period_value(FuQual *q, Datum d);
extern bool fu_cw_window(FuScan *scan, MState *st);

/* cloudwatch.c */
extern Series *fu_cw_series(Region *region, const ResourceType *type,
							const char *namespace, const char *metric,
							List *dims);
extern Dim *fu_cw_dim(const char *name, const char *value);
extern void fu_cw_data_requests(FuScan *scan, MState *st, Region *region);
extern void fu_cw_list_request(FuScan *scan, MState *st, Region *region,
							   const ResourceType *type, const char *namespace,
							   const char *metric);
extern void fu_cw_parse_page(FuScan *scan, FuRequest *req, char *body,
							 size_t len);

#endif							/* FU_AWS_METRICS_H */
