/*-------------------------------------------------------------------------
 *
 * fuzz_aws_cloudwatch.c
 *		  libFuzzer harness of aws_metrics' page parsers: CloudWatch
 *		  ListMetrics and GetMetricData answers (src/aws/cloudwatch.c), the
 *		  series discovered and the GetMetricData requests made of them, and
 *		  the rows (src/aws/metrics.c).
 *
 * Input: one byte of settings, then pages separated by NUL bytes, given in
 * turn to the scan's requests as the engine sends them: each request
 * takes pages while it asks for a next one.  Settings: bit 0 discovery
 * (a ListMetrics request first, whose series become GetMetricData
 * requests), bit 1 by resource type ec2 (else namespace AWS/EC2), bit 2
 * only resource id i-0a1b2c3d, bit 3 only metric CPUUtilization, bit 4 a
 * long window (fewer queries per call).
 *
 *-------------------------------------------------------------------------
 */
/* FUZZ-LINK: src/jsonwalk.c src/values.c src/message.c src/period.c */
/* FUZZ-LINK: src/request.c src/option.c src/quals.c */
/* FUZZ-LINK: src/aws/cloudwatch.c src/aws/metrics_window.c */
#include "../../src/aws/metrics.c"

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
	Region	   *region;
	MemoryContext old;
	static char *stats[] = {"Average", "p99"};

	npages = fu_fuzz_split(in->data + (in->size > 0), in->size - (in->size > 0),
						   pages, lens, MAX_PAGES);

	scan = fu_fuzz_scan(&fu_source_aws_metrics, NULL);
	old = MemoryContextSwitchTo(scan->req_cxt);
	st = palloc0(sizeof(MState));
	scan->pstate = st;
	st->nstats = 2;
	st->stats = stats;
	st->d_stats = palloc(sizeof(Datum) * 2);
	st->d_stats[0] = CStringGetTextDatum(stats[0]);
	st->d_stats[1] = CStringGetTextDatum(stats[1]);
	st->period = 300;
	st->end = (int64) FU_FUZZ_TODAY * SECS_PER_DAY + 946684800;
	st->start = st->end - ((settings & 16) ? 400 * SECS_PER_DAY : SECS_PER_DAY);
	region = palloc0(sizeof(Region));
	region->name = "us-east-1";
	st->regions = list_make1(region);
	if (settings & 4)
		st->resource_ids = list_make1("i-0a1b2c3d");
	if (settings & 8)
		st->metric_names = list_make1("CPUUtilization");

	if (settings & 1)
	{
		const ResourceType *t = (settings & 2) ? find_type("ec2") : NULL;

		if (t)
			st->types = list_make1(t);
		else
			st->namespaces = list_make1("AWS/EC2");
		fu_cw_list_request(scan, st, region, t, t ? t->namespace : "AWS/EC2",
						   (settings & 8) ? "CPUUtilization" : NULL);
	}
	else
	{
		/* known series: two instances, two metrics */
		const ResourceType *t = find_type("ec2");
		static const char *const ids[] = {"i-0a1b2c3d", "i-0e1f2a3b"};

		for (int i = 0; i < 2; i++)
		{
			fu_cw_series(region, t, t->namespace, "CPUUtilization",
						 list_make1(fu_cw_dim(t->key, ids[i])));
			fu_cw_series(region, t, t->namespace, "NetworkIn",
						 list_make2(fu_cw_dim(t->key, ids[i]),
									fu_cw_dim("AutoScalingGroupName", "web \"asg\"")));
		}
		fu_cw_data_requests(scan, st, region);
	}
	MemoryContextSwitchTo(old);

	/* the requests in order, new ones (after discovery) included */
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
