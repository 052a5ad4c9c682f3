/*-------------------------------------------------------------------------
 *
 * cost_forecast.c
 *		  aws_cost_forecast: AWS Cost Explorer GetCostForecast.
 *
 * One row per forecast period, with the mean and both bounds of the
 * prediction interval.  A forecast row is the forecast for its filter: the
 * service, linked account and region a query names become the Filter, one
 * request per combination of values (IN lists and joins send several), and
 * each row carries its values; without them the forecast is of everything,
 * with those columns NULL.  Forecasts start today at the earliest, and a
 * MONTHLY forecast that starts mid-month has a clipped first bucket, so
 * period quals are rechecked.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "aws.h"
#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/json.h"

enum
{
	COL_PERIOD_START,
	COL_PERIOD_END,
	COL_GRANULARITY,
	COL_METRIC,
	COL_SERVICE,
	COL_LINKED_ACCOUNT,
	COL_REGION,
	COL_PREDICTION_INTERVAL,
	COL_MEAN_VALUE,
	COL_LOWER_BOUND,
	COL_UPPER_BOUND,
	COL_CURRENCY,
	NUM_COLS
};

/* the filter columns, in column order, and their dimension keys */
#define FIRST_FILTER	COL_SERVICE
#define NUM_FILTERS		CE_NUM_FILTERS
static const char *const filter_keys[NUM_FILTERS] = {"SERVICE", "LINKED_ACCOUNT", "REGION"};

static const char *const granularities[] = {"DAILY", "MONTHLY", NULL};
static const char *const forecast_metrics[] = {
	"UNBLENDED_COST", "AMORTIZED_COST", "BLENDED_COST", "NET_UNBLENDED_COST",
	"NET_AMORTIZED_COST", NULL
};

/* PredictionIntervalLevel: 51..99, in its text form */
static bool
valid_interval(const char *text)
{
	char	   *end;
	long		v;

	errno = 0;
	v = strtol(text, &end, 10);
	return errno == 0 && end != text && *end == '\0' && v >= 51 && v <= 99;
}

static const FuColumn forecast_columns[NUM_COLS] = {
	{"period_start", DATEOID, FU_OPS_RANGE},
	{"period_end", DATEOID, FU_OPS_RANGE},
	{"granularity", TEXTOID, FU_OPS_EQ, FU_COL_PER_VALUE, granularities},
	{"metric", TEXTOID, FU_OPS_EQ, FU_COL_PER_VALUE, forecast_metrics},
	{"service", TEXTOID, FU_OPS_SET, FU_COL_PER_VALUE},
	{"linked_account", TEXTOID, FU_OPS_SET, FU_COL_PER_VALUE},
	{"region", TEXTOID, FU_OPS_SET, FU_COL_PER_VALUE},
	{"prediction_interval", INT4OID, FU_OPS_EQ, FU_COL_PER_VALUE, NULL,
	valid_interval, "the integers from 51 to 99"},
	{"mean_value", NUMERICOID, 0},
	{"lower_bound", NUMERICOID, 0},
	{"upper_bound", NUMERICOID, 0},
	{"currency", TEXTOID, 0},
};

#define DEFAULT_INTERVAL 80

typedef struct FcRow
{
	CeTimePeriod tp;
	char	   *mean;
	char	   *lower;
	char	   *upper;
} FcRow;

/* The filter values of one request, which its rows carry */
typedef struct FcState
{
	const char *metric;
	bool		monthly;
	int			interval;
	DateADT		start;
	DateADT		end;

	/* current page */
	CeFilter   *filter;
	FcRow	   *rows;
	int			nrows;
	int			maxrows;
	int			cur;
	char	   *currency;
	Datum		currency_datum;
} FcState;

static FuPushdown
forecast_classify_qual(const FuSource *src, const FuQual *q)
{
	switch (q->col)
	{
		case COL_PERIOD_START:
		case COL_PERIOD_END:
			/* clipped first buckets: always rechecked */
			if (q->valtype == DATEOID || q->valtype == TIMESTAMPOID ||
				q->valtype == TIMESTAMPTZOID)
				return FU_PUSH_RECHECK;
			return FU_PUSH_NONE;
		case COL_PREDICTION_INTERVAL:
			return q->valtype == INT4OID ? FU_PUSH_EXACT : FU_PUSH_NONE;
		default:
			return q->valtype == TEXTOID ? FU_PUSH_EXACT : FU_PUSH_NONE;
	}
}

static List *
forecast_plan(FuPlanInfo *pi)
{
	ListCell   *lc;

	/* a period or two of forecasts per value asked for */
	pi->rows = 60;
	pi->calls = 1;
	foreach(lc, pi->quals)
	{
		FuQual	   *q = (FuQual *) lfirst(lc);

		if (q->col >= FIRST_FILTER && q->col < FIRST_FILTER + NUM_FILTERS &&
			q->op == FU_OP_IN)
			pi->calls *= 3;
	}
	pi->rows *= pi->calls;
	return NIL;
}

/*
 * Granularity, metric and interval from the quals ("=" only), with their
 * defaults; false when two quals on one of them disagree (no row can have
 * both values).
 */
static bool
forecast_settings(FuScan *scan, FcState *st)
{
	ListCell   *lc;
	const char *granularity = NULL;
	int			interval = -1;

	st->metric = NULL;
	foreach(lc, scan->quals)
	{
		FuQual	   *q = (FuQual *) lfirst(lc);

		if (!q->known || q->placeholder)
			continue;
		/* text values are in the closed sets: the engine checked */
		if (q->col == COL_GRANULARITY)
		{
			if (granularity && strcmp(granularity, fu_qual_text(q->value)) != 0)
				return false;
			granularity = fu_qual_text(q->value);
		}
		else if (q->col == COL_METRIC)
		{
			if (st->metric && strcmp(st->metric, fu_qual_text(q->value)) != 0)
				return false;
			st->metric = fu_qual_text(q->value);
		}
		else if (q->col == COL_PREDICTION_INTERVAL)
		{
			if (interval >= 0 && interval != DatumGetInt32(q->value))
				return false;
			interval = DatumGetInt32(q->value);
		}
	}
	st->monthly = granularity && strcmp(granularity, "MONTHLY") == 0;
	if (st->metric == NULL)
		st->metric = "UNBLENDED_COST";
	st->interval = interval >= 0 ? interval : DEFAULT_INTERVAL;
	fu_scan_fix(scan, COL_GRANULARITY,
				CStringGetTextDatum(st->monthly ? "MONTHLY" : "DAILY"));
	fu_scan_fix(scan, COL_METRIC, CStringGetTextDatum(st->metric));
	fu_scan_fix(scan, COL_PREDICTION_INTERVAL, Int32GetDatum(st->interval));
	return true;
}

/*
 * The forecast window: today at the earliest; without an end, the rest of
 * this month and the next (DAILY), or twelve months (MONTHLY).  False when
 * it is empty.
 */
static bool
forecast_window(FuScan *scan, FcState *st)
{
	DateADT		today = fu_today_date();
	DateADT		lo = DATEVAL_NOBEGIN;
	DateADT		hi = DATEVAL_NOEND;
	ListCell   *lc;

	foreach(lc, scan->quals)
	{
		FuQual	   *q = (FuQual *) lfirst(lc);

		if (q->known && (q->col == COL_PERIOD_START || q->col == COL_PERIOD_END))
			fu_narrow_window(q, q->col == COL_PERIOD_END, st->monthly, &lo, &hi);
	}
	lo = Max(lo, today);
	if (hi == DATEVAL_NOEND)
		hi = fu_add_months(fu_month_floor(today), st->monthly ? 12 : 2);
	if (st->monthly)
		hi = fu_month_ceil(hi);
	st->start = lo;
	st->end = hi;
	return lo < hi;
}

/*
 * The values each filter column takes: NIL when unfiltered; *empty when
 * the quals leave none.
 */
static void
filter_values(FuScan *scan, List **values, bool *empty)
{
	bool		constrained[NUM_FILTERS] = {false};
	ListCell   *lc;

	*empty = false;
	foreach(lc, scan->quals)
	{
		FuQual	   *q = (FuQual *) lfirst(lc);
		int			f = q->col - FIRST_FILTER;

		if (!q->known || f < 0 || f >= NUM_FILTERS)
			continue;
		values[f] = fu_intersect_strings(values[f], &constrained[f],
										 fu_qual_strings(q));
		if (values[f] == NIL)
			*empty = true;
	}
}

/* A GetCostForecast request for one combination of filter values */
static void
add_request(FuScan *scan, void *state, CeFilter *filter)
{
	FcState    *st = (FcState *) state;
	StringInfoData body;
	List	   *leaves = NIL;
	FuRequest  *req;

	for (int f = 0; f < NUM_FILTERS; f++)
		if (filter->values[f])
			fu_ce_add_values_leaf(&leaves, "Dimensions", filter_keys[f],
								  list_make1(filter->values[f]), false);
	initStringInfo(&body);
	appendStringInfo(&body, "{\"TimePeriod\":{\"Start\":\"%s\",\"End\":\"%s\"},\"Metric\":\"%s\",\"Granularity\":\"%s\"",
					 fu_date_text(st->start), fu_date_text(st->end), st->metric,
					 st->monthly ? "MONTHLY" : "DAILY");
	fu_ce_append_filter(&body, leaves);
	appendStringInfo(&body, ",\"PredictionIntervalLevel\":%d}", st->interval);
	req = fu_ce_request(scan, "GetCostForecast", body.data);
	req->pdata = filter;
}

static void
forecast_begin(FuScan *scan)
{
	FcState    *st = palloc0(sizeof(FcState));
	List	   *values[NUM_FILTERS] = {NIL};
	bool		empty;

	scan->pstate = st;
	if (!forecast_settings(scan, st))
		return;
	filter_values(scan, values, &empty);
	if (empty || !forecast_window(scan, st))
		return;
	fu_ce_each_filter(scan, st, values, add_request);
}

/* ---------- page parsing ---------- */

/* the JSON field names the page handlers look for */
enum
{
	F_ForecastResultsByTime,
	F_Total,
	F_Unit,
	F_MeanValue,
	F_PredictionIntervalLowerBound,
	F_PredictionIntervalUpperBound,
	F_TimePeriod,
	F_Start,
	F_End,
};

static const char *const fc_names[] = {
	"ForecastResultsByTime",
	"Total",
	"Unit",
	"MeanValue",
	"PredictionIntervalLowerBound",
	"PredictionIntervalUpperBound",
	"TimePeriod",
	"Start",
	"End",
	NULL
};


/*
 * {"Total": {"Amount", "Unit"}, "ForecastResultsByTime": [{"TimePeriod":
 *   {"Start", "End"}, "MeanValue", "PredictionIntervalLowerBound",
 *   "PredictionIntervalUpperBound"}]}
 */

static void
fc_object_start(void *arg, FuJsonWalk *w)
{
	FcState    *st = (FcState *) arg;
	FcRow	   *r;

	if (w->depth != 3 || !fu_walk_at(w, 1, F_ForecastResultsByTime))
		return;
	st->rows = fu_grow(st->rows, st->nrows, &st->maxrows, sizeof(FcRow));
	r = &st->rows[st->nrows++];
	memset(r, 0, sizeof(FcRow));
	fu_ce_period_begin(&r->tp);
}

static void
fc_object_end(void *arg, FuJsonWalk *w)
{
	FcState    *st = (FcState *) arg;

	if (w->depth == 3 && fu_walk_at(w, 1, F_ForecastResultsByTime))
		fu_ce_period_check(w, &st->rows[st->nrows - 1].tp,
						   "ForecastResultsByTime");
}

static void
fc_scalar(void *arg, FuJsonWalk *w, char *token, FuJsonToken type)
{
	FcState    *st = (FcState *) arg;
	FcRow	   *r;

	if (w->depth == 2 && fu_walk_at(w, 1, F_Total) && fu_walk_at(w, 2, F_Unit) &&
		type == FU_JSON_STRING)
		st->currency = token;
	/* levels 2 and 3 are the list and an entry: the scanner checked */
	if (!fu_walk_at(w, 1, F_ForecastResultsByTime) || w->depth < 3)
		return;
	r = &st->rows[st->nrows - 1];
	if (w->depth == 3)
	{
		char	  **slot = NULL;

		if (fu_walk_at(w, 3, F_MeanValue))
			slot = &r->mean;
		else if (fu_walk_at(w, 3, F_PredictionIntervalLowerBound))
			slot = &r->lower;
		else if (fu_walk_at(w, 3, F_PredictionIntervalUpperBound))
			slot = &r->upper;
		if (slot && type != FU_JSON_STRING)
			fu_walk_malformed(w, "A forecast value is not a decimal string.");
		if (slot)
			*slot = token;
	}
	else
		fu_ce_period_member(w, F_TimePeriod, F_Start, F_End, token, type,
							&r->tp);
}

static const FuJsonHandlers fc_handlers = {
	.names = fc_names,
	.list = "ForecastResultsByTime",
	.object_start = fc_object_start,
	.object_end = fc_object_end,
	.scalar = fc_scalar,
};

/* GetCostForecast has no pages */
static void
forecast_parse_page(FuScan *scan, FuRequest *req, char *body, size_t len)
{
	FcState    *st = (FcState *) scan->pstate;

	st->filter = (CeFilter *) req->pdata;
	st->rows = NULL;
	st->nrows = st->maxrows = st->cur = 0;
	st->currency = NULL;
	fu_parse_json_events(req->label, body, len, &fc_handlers, st);
	if (st->currency)
		st->currency_datum = fu_text_datum(st->currency);
}

static bool
forecast_next_row(FuScan *scan, Datum *values, bool *nulls)
{
	FcState    *st = (FcState *) scan->pstate;
	FcRow	   *r;

	if (st->cur >= st->nrows)
		return false;
	r = &st->rows[st->cur++];

	for (int f = 0; f < NUM_FILTERS; f++)
		if (st->filter->values[f])
		{
			values[FIRST_FILTER + f] = st->filter->datums[f];
			nulls[FIRST_FILTER + f] = false;
		}
	values[COL_PERIOD_START] = DateADTGetDatum(r->tp.start);
	nulls[COL_PERIOD_START] = false;
	values[COL_PERIOD_END] = DateADTGetDatum(r->tp.end);
	nulls[COL_PERIOD_END] = false;
	if (r->mean)
	{
		values[COL_MEAN_VALUE] = fu_numeric_datum(r->mean, "mean_value");
		nulls[COL_MEAN_VALUE] = false;
	}
	if (r->lower)
	{
		values[COL_LOWER_BOUND] = fu_numeric_datum(r->lower, "lower_bound");
		nulls[COL_LOWER_BOUND] = false;
	}
	if (r->upper)
	{
		values[COL_UPPER_BOUND] = fu_numeric_datum(r->upper, "upper_bound");
		nulls[COL_UPPER_BOUND] = false;
	}
	if (st->currency)
	{
		values[COL_CURRENCY] = st->currency_datum;
		nulls[COL_CURRENCY] = false;
	}
	return true;
}

const FuSource fu_source_aws_cost_forecast = {
	.name = "aws_cost_forecast",
	.api = "AWS Cost Explorer GetCostForecast",
	.columns = forecast_columns,
	.ncolumns = NUM_COLS,
	.call_price = 0.01,
	.classify_qual = forecast_classify_qual,
	.plan = forecast_plan,
	.begin = forecast_begin,
	.parse_page = forecast_parse_page,
	.next_row = forecast_next_row,
};
