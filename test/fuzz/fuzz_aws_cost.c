/*-------------------------------------------------------------------------
 *
 * fuzz_aws_cost.c
 *		  libFuzzer harness of aws_cost's page parser: AWS Cost Explorer
 *		  GetCostAndUsage answers (src/aws/cost.c, with ce.c's TimePeriods),
 *		  their NextPageToken paging, the rows made of them, and the sums of
 *		  an aggregate scan over several pages.
 *
 * Input: one byte of settings, then up to four pages separated by NUL
 * bytes (a page cannot hold one: it is not valid text).  Settings: bits
 * 0-1 the GroupBy (none, SERVICE, SERVICE and REGION, SERVICE and a tag),
 * bit 2 an aggregate scan (sums by the groups), bit 3 grouped by month
 * too, bit 4 a rescan replaying the pages, bits 5-6 the metrics read.
 * Pages are parsed as the engine does (page context, paging, rows read in
 * a row context) until a page asks for no next one.
 *
 *-------------------------------------------------------------------------
 */
/* FUZZ-LINK: src/jsonwalk.c src/values.c src/message.c src/period.c */
/* FUZZ-LINK: src/request.c src/option.c src/quals.c src/aws/ce.c src/aws/ce_results.c */
#include "../../src/aws/cost.c"

#include "pg_stub.h"

#define MAX_PAGES 4

typedef struct Input
{
	const uint8_t *data;
	size_t		size;
} Input;

static FuUpperItem *
item(FuUpperKind kind, int col, Oid type)
{
	FuUpperItem *it = palloc0(sizeof(FuUpperItem));

	it->kind = kind;
	it->col = col;
	it->type = type;
	return it;
}

static void
one(void *arg)
{
	Input	   *in = (Input *) arg;
	uint8_t		settings = in->size > 0 ? in->data[0] : 0;
	char	   *pages[MAX_PAGES];
	size_t		lens[MAX_PAGES];
	char	   *kept[MAX_PAGES];
	int			npages;
	int			parsed = 0;
	FuScan	   *scan;
	CeState    *st;
	FuRequest  *req;
	static const int metric_sets[4] = {0x7f, 0x01, 0x20, 0x41};

	npages = fu_fuzz_split(in->data + (in->size > 0), in->size - (in->size > 0),
						   pages, lens, MAX_PAGES);
	for (int i = 0; i < npages; i++)
		kept[i] = fu_fuzz_copy(pages[i], lens[i]);

	scan = fu_fuzz_scan(&fu_source_aws_cost, NULL);
	st = palloc0(sizeof(CeState));
	scan->pstate = st;
	st->metric_mask = metric_sets[(settings >> 5) & 3];
	switch (settings & 3)
	{
		case 1:
			st->group_cols[st->ngroups++] = COL_SERVICE;
			break;
		case 2:
			st->group_cols[st->ngroups++] = COL_SERVICE;
			st->group_cols[st->ngroups++] = COL_REGION;
			break;
		case 3:
			st->group_cols[st->ngroups++] = COL_SERVICE;
			st->group_cols[st->ngroups++] = COL_TAG_VALUE;
			st->tag_key = "env";
			break;
	}
	st->start = FU_FUZZ_TODAY - 30;
	st->end = FU_FUZZ_TODAY;
	if (settings & 4)
	{
		/* sum(metric) GROUP BY the dimensions [, date_trunc('month', ...)] */
		for (int g = 0; g < st->ngroups; g++)
			if (st->group_cols[g] != COL_TAG_VALUE)
				scan->upper = lappend(scan->upper,
									  item(FU_UPPER_GROUP, st->group_cols[g], TEXTOID));
		if (settings & 8)
			scan->upper = lappend(scan->upper,
								  item(FU_UPPER_GROUP_MONTH, COL_PERIOD_START, DATEOID));
		for (int m = 0; m < NUM_METRICS; m++)
			if (st->metric_mask & (1 << m))
				scan->upper = lappend(scan->upper,
									  item(FU_UPPER_SUM, FIRST_METRIC + m, NUMERICOID));
		upper_begin(scan, st);
		st->granularity = "MONTHLY";
	}
	else
	{
		st->granularity = "DAILY";
		st->out_metrics = st->metric_mask;
		st->want_currency = true;
		st->want_usage_unit = true;
	}
	req = fu_fuzz_request(scan, "AWS Cost Explorer GetCostAndUsage", "POST",
						  "https://ce.us-east-1.amazonaws.com/",
						  request_body(st, NIL));

	/* the pages of the request, while they ask for more */
	do
	{
		fu_fuzz_parse_page(scan, req, pages[parsed], lens[parsed]);
		parsed++;
		fu_fuzz_rows(scan, 100000);
	} while (parsed < npages && req->next != FU_NEXT_NONE);

	/* a rescan parses the kept pages again */
	if (settings & 16)
	{
		scan->replaying = true;
		for (int i = 0; i < parsed; i++)
		{
			char	   *copy = fu_fuzz_copy(kept[i], lens[i]);

			MemoryContextReset(scan->page_cxt);
			scan->page_index = i;
			{
				MemoryContext old = MemoryContextSwitchTo(scan->page_cxt);

				cost_parse_page(scan, req, copy, lens[i]);
				MemoryContextSwitchTo(old);
			}
			fu_fuzz_rows(scan, 100000);
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
