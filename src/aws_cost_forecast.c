/*-------------------------------------------------------------------------
 *
 * aws_cost_forecast.c
 *		  aws_cost_forecast: AWS Cost Explorer GetCostForecast.
 *
 * One row per forecast period, with the mean and both bounds of the
 * prediction interval.  Dimensions fixed by "=" become the Filter and are
 * filled from the qual; the forecast is of everything else otherwise.
 * Forecasts start today at the earliest, and a MONTHLY forecast that starts
 * mid-month has a clipped first bucket, so period quals are rechecked.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/jsonapi.h"
#include "aws.h"
#include "finops_usage.h"
#include "mb/pg_wchar.h"
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

static const FuColumn forecast_columns[NUM_COLS] = {
	{"period_start", DATEOID, FU_OPS_RANGE},
	{"period_end", DATEOID, FU_OPS_RANGE},
	{"granularity", TEXTOID, FU_OPS_EQ},
	{"metric", TEXTOID, FU_OPS_EQ},
	{"service", TEXTOID, FU_OPS_EQ},
	{"linked_account", TEXTOID, FU_OPS_EQ},
	{"region", TEXTOID, FU_OPS_EQ},
	{"prediction_interval", INT4OID, FU_OPS_EQ},
	{"mean_value", NUMERICOID, 0},
	{"lower_bound", NUMERICOID, 0},
	{"upper_bound", NUMERICOID, 0},
	{"currency", TEXTOID, 0},
};

static const char *const forecast_metrics[] = {
	"UNBLENDED_COST", "AMORTIZED_COST", "BLENDED_COST", "NET_UNBLENDED_COST",
	"NET_AMORTIZED_COST", "USAGE_QUANTITY", "NORMALIZED_USAGE_AMOUNT", NULL
};

#define DEFAULT_INTERVAL 80

typedef struct FcRow
{
	DateADT		start;
	DateADT		end;
	char	   *mean;
	char	   *lower;
	char	   *upper;
} FcRow;

typedef struct FcState
{
	Datum		fixed[NUM_COLS];
	bool		has_fixed[NUM_COLS];
	DateADT		start;
	DateADT		end;

	/* current page */
	FcRow	   *rows;
	int			nrows;
	int			maxrows;
	int			cur;
	char	   *currency;

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
	pi->rows = 60;
	pi->calls = 1;
	return NIL;
}

static void
fix(FcState *st, int col, Datum d)
{
	st->fixed[col] = d;
	st->has_fixed[col] = true;
}

static void
forecast_begin(FuScan *scan)
{
	FcState    *st = palloc0(sizeof(FcState));
	ListCell   *lc;
	DateADT		today = fu_today_date();
	DateADT		lo = DATEVAL_NOBEGIN;
	DateADT		hi = DATEVAL_NOEND;
	bool		monthly = false;
	const char *metric = "UNBLENDED_COST";
	int			interval = DEFAULT_INTERVAL;
	List	   *leaves = NIL;
	StringInfoData body;

	scan->pstate = st;

	foreach(lc, scan->quals)
	{
		FuQual	   *q = (FuQual *) lfirst(lc);

		if (!q->known)
			continue;
		switch (q->col)
		{
			case COL_GRANULARITY:
				{
					char	   *g = fu_qual_text(q->value);

					if (strcmp(g, "DAILY") != 0 && strcmp(g, "MONTHLY") != 0)
						ereport(ERROR,
								(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
								 errmsg("aws_cost_forecast granularity must be DAILY or MONTHLY, not \"%s\"", g)));
					monthly = strcmp(g, "MONTHLY") == 0;
					fix(st, COL_GRANULARITY, q->value);
					break;
				}
			case COL_METRIC:
				{
					char	   *m = fu_qual_text(q->value);
					const char *const *p;

					for (p = forecast_metrics; *p; p++)
						if (strcmp(*p, m) == 0)
							break;
					if (*p == NULL)
						ereport(ERROR,
								(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
								 errmsg("invalid aws_cost_forecast metric \"%s\"", m),
								 errhint("Valid metrics are UNBLENDED_COST, AMORTIZED_COST, BLENDED_COST, NET_UNBLENDED_COST, NET_AMORTIZED_COST, USAGE_QUANTITY and NORMALIZED_USAGE_AMOUNT.")));
					metric = *p;
					fix(st, COL_METRIC, q->value);
					break;
				}
			case COL_PREDICTION_INTERVAL:
				interval = DatumGetInt32(q->value);
				if (interval < 51 || interval > 99)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("aws_cost_forecast prediction_interval must be between 51 and 99, not %d",
									interval)));
				break;
			default:
				break;
		}
	}
	fix(st, COL_PREDICTION_INTERVAL, Int32GetDatum(interval));
	if (!st->has_fixed[COL_GRANULARITY])
		fix(st, COL_GRANULARITY, CStringGetTextDatum("DAILY"));
	if (!st->has_fixed[COL_METRIC])
		fix(st, COL_METRIC, CStringGetTextDatum(metric));

	foreach(lc, scan->quals)
	{
		FuQual	   *q = (FuQual *) lfirst(lc);

		if (!q->known)
			continue;
		if (q->col == COL_PERIOD_START || q->col == COL_PERIOD_END)
			fu_narrow_window(q, q->col == COL_PERIOD_END, monthly, &lo, &hi);
		else if (q->col == COL_SERVICE || q->col == COL_LINKED_ACCOUNT ||
				 q->col == COL_REGION)
		{
			static const char *const keys[] = {"SERVICE", "LINKED_ACCOUNT", "REGION"};

			fu_ce_add_leaf(&leaves, "Dimensions", keys[q->col - COL_SERVICE], q);
			fix(st, q->col, q->value);
		}
	}

	/*
	 * Forecasts start today.  Without an end: the rest of this month and the
	 * next (DAILY), or twelve months (MONTHLY).
	 */
	lo = Max(lo, today);
	if (hi == DATEVAL_NOEND)
		hi = fu_add_months(fu_month_floor(today), monthly ? 12 : 2);
	if (monthly)
		hi = fu_month_ceil(hi);
	if (lo >= hi)
		return;
	st->start = lo;
	st->end = hi;

	initStringInfo(&body);
	appendStringInfo(&body, "{\"TimePeriod\":{\"Start\":\"%s\",\"End\":\"%s\"},\"Metric\":\"%s\",\"Granularity\":\"%s\"",
					 fu_date_text(lo), fu_date_text(hi), metric,
					 monthly ? "MONTHLY" : "DAILY");
	fu_ce_append_filter(&body, leaves);
	appendStringInfo(&body, ",\"PredictionIntervalLevel\":%d}", interval);
	fu_add_request(scan, "AWS Cost Explorer GetCostForecast", "POST",
				   fu_ce_url(scan), body.data);
}

static void
forecast_prepare(FuScan *scan, FuRequest *req)
{
	fu_ce_prepare(scan, req, "GetCostForecast");
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
	if (st->nrows == st->maxrows)
	{
		st->maxrows = st->maxrows ? st->maxrows * 2 : 64;
		st->rows = st->rows ? repalloc(st->rows, sizeof(FcRow) * st->maxrows) :
			palloc(sizeof(FcRow) * st->maxrows);
	}
	r = &st->rows[st->nrows++];
	memset(r, 0, sizeof(FcRow));
	r->start = DATEVAL_NOBEGIN;
	r->end = DATEVAL_NOBEGIN;
}

static void
fc_object_end(void *arg, FuJsonWalk *w)
{
	FcState    *st = (FcState *) arg;

	if (w->depth == 3 && fu_walk_at(w, 1, F_ForecastResultsByTime) &&
		(st->rows[st->nrows - 1].start == DATEVAL_NOBEGIN ||
		 st->rows[st->nrows - 1].end == DATEVAL_NOBEGIN))
		fu_walk_malformed(w, "A ForecastResultsByTime entry has no complete TimePeriod.");
}

static void
fc_scalar(void *arg, FuJsonWalk *w, char *token, int type)
{
	FcState    *st = (FcState *) arg;
	FcRow	   *r;

	if (w->depth == 2 && fu_walk_at(w, 1, F_Total) && fu_walk_at(w, 2, F_Unit) &&
		type == JSON_TOKEN_STRING)
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
		if (slot && type != JSON_TOKEN_STRING)
			fu_walk_malformed(w, "A forecast value is not a decimal string.");
		if (slot)
			*slot = token;
	}
	else if (w->depth == 4 && fu_walk_at(w, 3, F_TimePeriod) &&
			 type == JSON_TOKEN_STRING)
	{
		if (fu_walk_at(w, 4, F_Start))
			r->start = fu_ce_date(w, token);
		else if (fu_walk_at(w, 4, F_End))
			r->end = fu_ce_date(w, token);
	}
}

static const FuJsonHandlers fc_handlers = {
	.names = fc_names,
	.list = "ForecastResultsByTime",
	.object_start = fc_object_start,
	.object_end = fc_object_end,
	.scalar = fc_scalar,
};

static bool
forecast_parse_page(FuScan *scan, FuRequest *req, char *body, size_t len)
{
	FcState    *st = (FcState *) scan->pstate;

	st->rows = NULL;
	st->nrows = st->maxrows = st->cur = 0;
	st->currency = NULL;
	fu_parse_json_events(req->label, body, len, &fc_handlers, st);
	return false;				/* GetCostForecast has no pages */
}

static bool
forecast_next_row(FuScan *scan, Datum *values, bool *nulls)
{
	FcState    *st = (FcState *) scan->pstate;
	FcRow	   *r;

	if (st->cur >= st->nrows)
		return false;
	r = &st->rows[st->cur++];

	for (int c = 0; c < NUM_COLS; c++)
		if (st->has_fixed[c])
		{
			values[c] = st->fixed[c];
			nulls[c] = false;
		}
	values[COL_PERIOD_START] = DateADTGetDatum(r->start);
	nulls[COL_PERIOD_START] = false;
	values[COL_PERIOD_END] = DateADTGetDatum(r->end);
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
		values[COL_CURRENCY] = fu_text_datum(st->currency);
		nulls[COL_CURRENCY] = false;
	}
	return true;
}

const FuSource fu_source_aws_cost_forecast = {
	.name = "aws_cost_forecast",
	.provider = "aws",
	.api = "AWS Cost Explorer GetCostForecast",
	.columns = forecast_columns,
	.ncolumns = NUM_COLS,
	.call_price = 0.01,
	.classify_qual = forecast_classify_qual,
	.plan = forecast_plan,
	.begin = forecast_begin,
	.prepare = forecast_prepare,
	.check = fu_aws_check,
	.report_error = fu_aws_report_error,
	.parse_page = forecast_parse_page,
	.next_row = forecast_next_row,
};
