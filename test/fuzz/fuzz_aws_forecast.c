/*-------------------------------------------------------------------------
 *
 * fuzz_aws_forecast.c
 *		  libFuzzer harness of aws_cost_forecast's page parser: AWS Cost
 *		  Explorer GetCostForecast answers (src/aws/cost_forecast.c, with
 *		  ce.c's TimePeriods) and the rows made of them.
 *
 * Input: one byte of settings, then one answer per request, separated by
 * NUL bytes.  Settings: bit 0 a service filter of two values (two
 * requests, built by the source's own add_request for each combination),
 * bit 1 MONTHLY, bit 2 a rescan replaying the answers.
 *
 *-------------------------------------------------------------------------
 */
/* FUZZ-LINK: src/jsonwalk.c src/values.c src/message.c src/period.c */
/* FUZZ-LINK: src/request.c src/option.c src/quals.c src/aws/ce.c */
#include "../../src/aws/cost_forecast.c"

#include "pg_stub.h"

#define MAX_PAGES 3

typedef struct Input
{
	const uint8_t *data;
	size_t		size;
} Input;

static void
one(void *arg)
{
	Input	   *in = (Input *) arg;
	uint8_t		settings = in->size > 0 ? in->data[0] : 0;
	char	   *pages[MAX_PAGES];
	size_t		lens[MAX_PAGES];
	int			npages;
	FuScan	   *scan;
	FcState    *st;
	List	   *values[NUM_FILTERS] = {NIL};
	ListCell   *lc;
	MemoryContext old;

	npages = fu_fuzz_split(in->data + (in->size > 0), in->size - (in->size > 0),
						   pages, lens, MAX_PAGES);

	scan = fu_fuzz_scan(&fu_source_aws_cost_forecast, NULL);
	st = palloc0(sizeof(FcState));
	scan->pstate = st;
	st->metric = "UNBLENDED_COST";
	st->monthly = (settings & 2) != 0;
	st->interval = DEFAULT_INTERVAL;
	st->start = FU_FUZZ_TODAY;
	st->end = fu_add_months(fu_month_floor(FU_FUZZ_TODAY), st->monthly ? 12 : 2);
	if (settings & 1)
		values[0] = list_make2("AWS Lambda", "Amazon Simple Storage Service");
	/* the requests as forecast_begin makes them */
	old = MemoryContextSwitchTo(scan->req_cxt);
	fu_ce_each_filter(scan, st, values, add_request);
	MemoryContextSwitchTo(old);

	foreach(lc, scan->requests)
	{
		int			i = foreach_current_index(lc);
		FuRequest  *req = (FuRequest *) lfirst(lc);
		char	   *copy;

		if (i >= npages)
			break;
		copy = fu_fuzz_copy(pages[i], lens[i]);
		fu_fuzz_parse_page(scan, req, pages[i], lens[i]);
		fu_fuzz_rows(scan, 100000);
		if (settings & 4)
		{
			scan->replaying = true;
			fu_fuzz_parse_page(scan, req, copy, lens[i]);
			fu_fuzz_rows(scan, 100000);
			scan->replaying = false;
		}
	}
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Input		in = {data, size};

	fu_fuzz_one(one, &in);
	return 0;
}
