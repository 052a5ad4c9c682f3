/*-------------------------------------------------------------------------
 *
 * ce_results.c
 *		  Answers shaped like GetCostAndUsage's (ResultsByTime, Groups,
 *		  NextPageToken), which GetCostAndUsageWithResources shares: the
 *		  page parser and the metric names of aws_cost and
 *		  aws_cost_by_resource.
 *
 * A page is parsed in place into rows that point into the body: the keys,
 * and the Amount and Unit of each metric, as the API spelt them.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "aws.h"

/* the Metrics members of a request, in the order of the metric columns */
const char *const fu_ce_metric_names[CE_NUM_METRICS] = {
	"UnblendedCost", "BlendedCost", "AmortizedCost", "NetUnblendedCost",
	"NetAmortizedCost", "UsageQuantity", "NormalizedUsageAmount"
};

/* Append ,"Metrics":[...] for the metrics of mask (bit m: metric m) */
void
fu_ce_append_metrics(StringInfo body, int mask)
{
	appendStringInfoString(body, ",\"Metrics\":[");
	for (int m = 0, n = 0; m < CE_NUM_METRICS; m++)
		if (mask & (1 << m))
			appendStringInfo(body, "%s\"%s\"", n++ ? "," : "", fu_ce_metric_names[m]);
	appendStringInfoChar(body, ']');
}

/* the JSON field names the page handlers look for */
enum
{
	F_UnblendedCost,
	F_BlendedCost,
	F_AmortizedCost,
	F_NetUnblendedCost,
	F_NetAmortizedCost,
	F_UsageQuantity,
	F_NormalizedUsageAmount,
	F_ResultsByTime,
	F_Groups,
	F_Amount,
	F_Unit,
	F_NextPageToken,
	F_Estimated,
	F_TimePeriod,
	F_Start,
	F_End,
	F_Total,
	F_Keys,
	F_Metrics,
};

static const char *const ce_names[] = {
	"UnblendedCost",
	"BlendedCost",
	"AmortizedCost",
	"NetUnblendedCost",
	"NetAmortizedCost",
	"UsageQuantity",
	"NormalizedUsageAmount",
	"ResultsByTime",
	"Groups",
	"Amount",
	"Unit",
	"NextPageToken",
	"Estimated",
	"TimePeriod",
	"Start",
	"End",
	"Total",
	"Keys",
	"Metrics",
	NULL
};


/*
 * {"NextPageToken", "ResultsByTime": [{"TimePeriod": {"Start", "End"},
 *   "Total": {metric: {"Amount", "Unit"}},
 *   "Groups": [{"Keys": [...], "Metrics": {metric: {"Amount", "Unit"}}}],
 *   "Estimated"}]}
 * Levels: 1 the document, 2 ResultsByTime, 3 a ResultByTime, 4 its members.
 */

static CeRow *
new_row(CeResults *st)
{
	CeRow	   *r;

	st->rows = fu_grow(st->rows, st->nrows, &st->maxrows, sizeof(CeRow));
	r = &st->rows[st->nrows++];
	memset(r, 0, sizeof(CeRow));
	r->period = st->nperiods - 1;
	return r;
}

/* An Amount that is an object or an array is no amount: not a NULL */
static void
ce_container_start(FuJsonWalk *w)
{
	if (w->depth > 1 && fu_walk_at(w, w->depth - 1, F_Amount))
		fu_walk_malformed(w, "An Amount is not a decimal string.");
}

static void
ce_array_start(void *arg, FuJsonWalk *w)
{
	ce_container_start(w);
}

static void
ce_object_start(void *arg, FuJsonWalk *w)
{
	CeResults  *st = (CeResults *) arg;

	ce_container_start(w);

	if (!fu_walk_at(w, 1, F_ResultsByTime))
		return;
	if (w->depth == 3)
	{
		st->periods = fu_grow(st->periods, st->nperiods, &st->maxperiods,
							  sizeof(CePeriod));
		memset(&st->periods[st->nperiods], 0, sizeof(CePeriod));
		fu_ce_period_begin(&st->periods[st->nperiods].tp);
		st->nperiods++;
		st->row = NULL;
		/* without GroupBy the row is the period's Total */
		if (st->ngroups == 0)
			st->row = new_row(st);
	}
	else if (w->depth == 5 && st->ngroups > 0 && fu_walk_at(w, 3, F_Groups))
		st->row = new_row(st);
}

static void
ce_object_end(void *arg, FuJsonWalk *w)
{
	CeResults  *st = (CeResults *) arg;

	if (w->depth == 3 && fu_walk_at(w, 1, F_ResultsByTime))
		fu_ce_period_check(w, &st->periods[st->nperiods - 1].tp, "ResultsByTime");
}

/* The metric whose object level depth is in, or -1 */
static int
metric_at(FuJsonWalk *w, int depth)
{
	int			code;

	if (depth > w->depth || w->arrays[depth])
		return -1;
	code = w->codes[depth];
	/* the metric names come first in ce_names, in fu_ce_metric_names order */
	return (code >= 0 && code < CE_NUM_METRICS) ? code : -1;
}

/* Amount or Unit of metric m of the row */
static void
metric_member(FuJsonWalk *w, CeRow *row, int m, char *token, FuJsonToken type)
{
	if (m < 0 || row == NULL)
		return;
	if (fu_walk_at(w, w->depth, F_Amount))
	{
		if (type != FU_JSON_STRING)
			fu_walk_malformed(w, "An Amount is not a decimal string.");
		row->amount[m] = token;
	}
	else if (fu_walk_at(w, w->depth, F_Unit) && type == FU_JSON_STRING)
		row->unit[m] = token;
}

static void
ce_scalar(void *arg, FuJsonWalk *w, char *token, FuJsonToken type)
{
	CeResults  *st = (CeResults *) arg;
	CePeriod   *p;

	if (w->depth == 1)
	{
		if (fu_walk_at(w, 1, F_NextPageToken) && type == FU_JSON_STRING)
			st->next_token = token;
		return;
	}
	if (!fu_walk_at(w, 1, F_ResultsByTime))
		return;

	/* levels 2 and 3 are the list and an entry: the scanner checked */
	p = &st->periods[st->nperiods - 1];
	if (w->depth == 3 && fu_walk_at(w, 3, F_Estimated))
		p->estimated = (type == FU_JSON_TRUE);
	else if (fu_ce_period_member(w, F_TimePeriod, F_Start, F_End, token, type,
								 &p->tp))
		return;
	else if (w->depth == 5 && st->ngroups == 0 && fu_walk_at(w, 3, F_Total))
		metric_member(w, st->row, metric_at(w, 4),
					  token, type);
	else if (w->depth == 6 && st->row && fu_walk_at(w, 3, F_Groups) &&
			 fu_walk_at(w, 5, F_Keys))
	{
		if (type != FU_JSON_STRING)
			fu_walk_malformed(w, "A group key is not a string.");
		if (st->row->nkeys < CE_MAX_GROUPS)
			st->row->keys[st->row->nkeys++] = token;
	}
	else if (w->depth == 7 && fu_walk_at(w, 3, F_Groups) &&
			 fu_walk_at(w, 5, F_Metrics))
		metric_member(w, st->row, metric_at(w, 6),
					  token, type);
}

static const FuJsonHandlers ce_handlers = {
	.names = ce_names,
	.list = "ResultsByTime",
	.object_start = ce_object_start,
	.object_end = ce_object_end,
	.array_start = ce_array_start,
	.scalar = ce_scalar,
};

/*
 * Parse one page into res (res->ngroups set by the caller), check that
 * every group has as many keys as were asked for, and say whether the page
 * is final and how the next one is asked for.
 */
void
fu_ce_parse_results(FuRequest *req, char *body, size_t len, CeResults *res)
{
	res->rows = NULL;
	res->nrows = res->maxrows = 0;
	res->periods = NULL;
	res->nperiods = res->maxperiods = 0;
	res->next_token = NULL;
	res->row = NULL;

	fu_parse_json_events(req->label, body, len, &ce_handlers, res);
	for (int i = 0; i < res->nrows; i++)
		if (res->rows[i].nkeys != res->ngroups)
			fu_json_malformed(req->label,
							  psprintf("A group has %d keys; %d were requested.",
									   res->rows[i].nkeys, res->ngroups));

	/* a page of periods Cost Explorer no longer estimates is final */
	req->page_final = res->nperiods > 0;
	for (int i = 0; i < res->nperiods; i++)
		if (res->periods[i].estimated)
			req->page_final = false;

	if (res->next_token)
		fu_next_body_token(req, "NextPageToken", res->next_token);
}
