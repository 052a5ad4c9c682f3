/*-------------------------------------------------------------------------
 *
 * fuzz_gcp_monitoring.c
 *		  libFuzzer harness of gcp_metrics' page parser: Cloud Monitoring
 *		  timeSeries.list and metricDescriptors.list answers
 *		  (src/gcp/monitoring.c): series, labels (as jsonb), points of every
 *		  value type, times, executionErrors, pageToken paging, the
 *		  requests discovered metric types make, and the rows.
 *
 * Input: a byte of settings, then pages separated by NUL bytes, given in
 * turn to the scan's requests while each asks for a next page.  Settings:
 * bit 0 discovery (metricDescriptors.list first, whose types become
 * timeSeries.list requests), bit 1 aligners ALIGN_NONE and ALIGN_MAX
 * named, bit 2 periods 60 and 3600 named, bit 3 a resource type the
 * harness names (gce_instance).
 *
 *-------------------------------------------------------------------------
 */
/* FUZZ-LINK: src/jsonwalk.c src/values.c src/message.c src/period.c */
/* FUZZ-LINK: src/request.c src/option.c src/quals.c src/gcp/provider.c src/gcp/docs.c */
/* FUZZ-LINK: src/gcp/bigquery.c src/gcp/focus.c src/focus.c src/derived.c */
#include "../../src/gcp/monitoring.c"

#include "pg_stub.h"

#define MAX_PAGES 6

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

	scan = fu_fuzz_scan(&fu_source_gcp_metrics, NULL);
	old = MemoryContextSwitchTo(scan->req_cxt);
	st = palloc0(sizeof(MState));
	scan->pstate = st;
	st->base = fu_base_url(scan->server, GCP_MONITORING_HOST);
	st->mq.projects = list_make1("acme-prod");
	st->mq.c_projects = true;
	if (settings & 2)
	{
		st->mq.aligners = list_make2("ALIGN_NONE", "ALIGN_MAX");
		st->mq.c_aligners = true;
	}
	if (settings & 4)
	{
		st->mq.periods = list_make2_int(60, 3600);
		st->mq.c_periods = true;
	}
	if (settings & 8)
	{
		st->mq.types = list_make1("gce_instance");
		st->mq.c_types = true;
	}
	read_window(scan, st);

	if (settings & 1)
	{
		/* as metrics_begin does for metric_type LIKE 'prefix%' */
		FuRequest  *req;

		st->mq.prefixes = list_make1("compute.googleapis.com/instance/");
		req = fu_request_new(scan, "Cloud Monitoring metricDescriptors.list",
							 "GET", st->base,
							 "v3/projects/acme-prod/metricDescriptors");
		fu_request_param(req, "filter",
						 "metric.type = starts_with(\"compute.googleapis.com/instance/\")");
		req->discovery = true;
		req->pdata = pstrdup("acme-prod");
	}
	else
	{
		add_series_requests(scan, st, "acme-prod",
							"compute.googleapis.com/instance/cpu/utilization",
							NULL, NULL);
		add_series_requests(scan, st, "acme-prod",
							"kubernetes.io/container/cpu/core_usage_time",
							"CUMULATIVE", "DOUBLE");
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
