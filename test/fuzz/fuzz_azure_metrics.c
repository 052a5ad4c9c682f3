/*-------------------------------------------------------------------------
 *
 * fuzz_azure_metrics.c
 *		  libFuzzer harness of azure_metrics' page parser: Azure Monitor
 *		  metrics answers, of one resource (ARM) or of a getBatch call, and
 *		  the ARM resources list whose resources become getBatch calls
 *		  (src/azure/metrics.c): metrics, time series, dimension values (as
 *		  jsonb), data points, errorCode, nextLink paging, and the rows.
 *
 * Input: a byte of settings, then pages separated by NUL bytes, given in
 * turn to the scan's calls while each asks for a next page.  Settings:
 * bits 0-1 the first call (0 one resource's metrics, 1 a getBatch of two
 * resources, 2 the resources list), bit 2 four aggregations (else
 * average), bit 3 the list is filtered by region westeurope and resource
 * group rg-web.
 *
 *-------------------------------------------------------------------------
 */
/* FUZZ-LINK: src/jsonwalk.c src/values.c src/message.c src/period.c */
/* FUZZ-LINK: src/request.c src/option.c src/quals.c */
#include "../../src/azure/metrics.c"

#include "pg_stub.h"

#define MAX_PAGES 6
#define SUB "4f8a2c61-9d3e-4b7a-8c15-2e6f0a9b3d47"
#define VM1 "/subscriptions/" SUB "/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachines/vm1"
#define VM2 "/subscriptions/" SUB "/resourceGroups/rg-db/providers/Microsoft.Compute/virtualMachines/vm 2"

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
	int			p = 0;
	FuScan	   *scan;
	MState	   *st;
	MemoryContext old;

	npages = fu_fuzz_split(in->data + (in->size > 0), in->size - (in->size > 0),
						   pages, lens, MAX_PAGES);

	scan = fu_fuzz_scan(&fu_source_azure_metrics, NULL);
	old = MemoryContextSwitchTo(scan->req_cxt);
	st = palloc0(sizeof(MState));
	scan->pstate = st;
	st->type = find_type("virtual_machine");
	st->namespace = (char *) st->type->namespace;
	st->metrics = list_make2("Percentage CPU", "Network In Total");
	st->end = (int64) FU_FUZZ_TODAY * SECS_PER_DAY + 946684800;
	st->start = st->end - SECS_PER_DAY;
	st->subscription = SUB;
	st->mq.period = 3600;
	st->mq.aggs = (settings & 4) ?
		list_make4("Average", "Maximum", "Total", "Count") : list_make1("Average");
	if (settings & 8)
	{
		st->mq.regions = list_make1("westeurope");
		st->mq.c_regions = true;
		st->mq.groups = list_make1("rg-web");
		st->mq.c_groups = true;
	}
	switch (settings & 3)
	{
		case 0:
		case 3:
			single_request(scan, st, VM1);
			break;
		case 1:
			batch_requests(scan, st, "westeurope", list_make2(VM1, VM2));
			break;
		case 2:
			{
				FuRequest  *req = fu_request_new(scan, "Azure Resource Manager resources list", "GET",
												 fu_base_url(scan->server, AZURE_ARM_HOST),
												 psprintf("subscriptions/%s/resources", st->subscription));
				CallInfo   *ci = palloc0(sizeof(CallInfo));

				fu_request_param(req, "api-version", AZURE_RESOURCES_API);
				fu_request_param(req, "$filter", "resourceType eq 'Microsoft.Compute/virtualMachines'");
				ci->listing = true;
				req->pdata = ci;
				req->discovery = true;
				st->listings = 1;
				break;
			}
	}
	MemoryContextSwitchTo(old);

	for (int r = 0; r < list_length(scan->requests) && p < npages; r++)
	{
		FuRequest  *req = (FuRequest *) list_nth(scan->requests, r);

		do
		{
			fu_fuzz_parse_page(scan, req, pages[p], lens[p]);
			p++;
			fu_fuzz_rows(scan, 100000);
		} while (p < npages && req->next != FU_NEXT_NONE);
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
