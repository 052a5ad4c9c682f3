/*-------------------------------------------------------------------------
 *
 * fuzz_azure_usage.c
 *		  libFuzzer harness of azure_usage's page parser: Azure Cost
 *		  Management query answers (src/azure/usage.c): columns by name,
 *		  rows of cells, UsageDate integers, nextLink paging (followed only
 *		  to the request's origin), the rows of several calls added up by
 *		  key, and the rows' values.
 *
 * Input: a byte of settings, then pages separated by NUL bytes, given in
 * turn to the scan's calls while each asks for a next page.  Settings:
 * bits 0-1 the grouping (none, ServiceName, ResourceGroupName and a tag,
 * SubscriptionId and ServiceName), bit 2 all three metrics (two calls,
 * added up), bit 3 an aggregate scan (sums by the groups), bit 4 by month
 * (aggregate) or granularity None (scan), bit 5 a rescan replaying the
 * pages.
 *
 *-------------------------------------------------------------------------
 */
/* FUZZ-LINK: src/jsonwalk.c src/values.c src/message.c src/period.c */
/* FUZZ-LINK: src/request.c src/option.c src/quals.c */
#include "../../src/azure/usage.c"

#include "pg_stub.h"

#define MAX_PAGES 6

typedef struct Input
{
	const uint8_t *data;
	size_t		size;
} Input;

static void
add_upper(FuScan *scan, FuUpperKind kind, int col, Oid type)
{
	FuUpperItem *it = palloc0(sizeof(FuUpperItem));

	it->kind = kind;
	it->col = col;
	it->type = type;
	scan->upper = lappend(scan->upper, it);
}

static void
one(void *arg)
{
	Input	   *in = (Input *) arg;
	uint8_t		settings = in->size > 0 ? in->data[0] : 0;
	char	   *pages[MAX_PAGES];
	size_t		lens[MAX_PAGES];
	char	   *kept[MAX_PAGES];
	FuRequest  *page_req[MAX_PAGES];
	int			npages;
	int			p = 0;
	FuScan	   *scan;
	UsageState *st;
	List	   *masks;
	ListCell   *lc;
	MemoryContext old;

	npages = fu_fuzz_split(in->data + (in->size > 0), in->size - (in->size > 0),
						   pages, lens, MAX_PAGES);
	for (int i = 0; i < npages; i++)
		kept[i] = fu_fuzz_copy(pages[i], lens[i]);

	scan = fu_fuzz_scan(&fu_source_azure_usage, NULL);
	old = MemoryContextSwitchTo(scan->req_cxt);
	st = palloc0(sizeof(UsageState));
	scan->pstate = st;
	st->metric_mask = (settings & 4) ? 7 : 1;
	st->granularity = "Daily";
	st->cost_type = "ActualCost";
	switch (settings & 3)
	{
		case 1:
			st->group_cols[st->ngroups++] = COL_SERVICE_NAME;
			break;
		case 2:
			st->group_cols[st->ngroups++] = COL_RESOURCE_GROUP;
			st->group_cols[st->ngroups++] = COL_TAG_VALUE;
			st->tag_key = "env";
			break;
		case 3:
			st->group_cols[st->ngroups++] = COL_SUBSCRIPTION_ID;
			st->group_cols[st->ngroups++] = COL_SERVICE_NAME;
			break;
	}
	if (settings & 8)
	{
		for (int g = 0; g < st->ngroups; g++)
			if (st->group_cols[g] != COL_TAG_VALUE)
				add_upper(scan, FU_UPPER_GROUP, st->group_cols[g], TEXTOID);
		add_upper(scan, (settings & 16) ? FU_UPPER_GROUP_MONTH : FU_UPPER_GROUP,
				  COL_USAGE_DATE, DATEOID);
		for (int m = 0; m < NUM_METRICS; m++)
			if (st->metric_mask & (1 << m))
				add_upper(scan, FU_UPPER_SUM, FIRST_METRIC + m, NUMERICOID);
		upper_begin(scan, st);
	}
	else if (settings & 16)
		st->granularity = "None";

	/* the calls, as usage_begin makes them */
	masks = st->metric_mask == 7 ? list_make2_int(3, 5) : list_make1_int(st->metric_mask);
	if (list_length(masks) > 1)
		st->merge = true;
	foreach(lc, masks)
	{
		char	   *body = request_body(st, FU_FUZZ_TODAY - 30, FU_FUZZ_TODAY + 1,
										lfirst_int(lc), NIL);
		FuRequest  *req = fu_request_new(scan, "Azure Cost Management query", "POST",
										 fu_base_url(scan->server, AZURE_ARM_HOST),
										 "subscriptions/4f8a2c61-9d3e-4b7a-8c15-2e6f0a9b3d47/providers/Microsoft.CostManagement/query");

		fu_request_param(req, "api-version", AZURE_COST_API);
		fu_request_body(req, "application/json", body, strlen(body));
		req->pdata = (void *) (intptr_t) (lfirst_int(lc) == 5 ? 4 : lfirst_int(lc));
		st->pending++;
	}
	MemoryContextSwitchTo(old);

	for (int r = 0; r < list_length(scan->requests) && p < npages; r++)
	{
		FuRequest  *req = (FuRequest *) list_nth(scan->requests, r);

		do
		{
			page_req[p] = req;
			fu_fuzz_parse_page(scan, req, pages[p], lens[p]);
			p++;
			fu_fuzz_rows(scan, 100000);
		} while (p < npages && req->next != FU_NEXT_NONE);
	}

	if (settings & 32)
	{
		scan->replaying = true;
		for (int i = 0; i < p; i++)
		{
			fu_fuzz_parse_page(scan, page_req[i], kept[i], lens[i]);
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
