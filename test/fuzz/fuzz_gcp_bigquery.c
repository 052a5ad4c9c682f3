/*-------------------------------------------------------------------------
 *
 * fuzz_gcp_bigquery.c
 *		  libFuzzer harness of gcp_cost's page parser: BigQuery jobs.query
 *		  and jobs.getQueryResults answers (src/gcp/bigquery.c): rows of
 *		  cells, the schema, jobComplete polling and pageToken paging, bytes
 *		  processed, and the rows' values (timestamps, amounts, labels parsed
 *		  again as JSON, counts and averages of an aggregate scan).
 *
 * Input: a byte of settings, then pages separated by NUL bytes, parsed
 * while the request asks for another (a poll or a page).  Settings: bit 0
 * an aggregate scan (GROUP BY service, count(*), sum(cost), avg(cost),
 * min(usage_start_time), count(credits)), else a scan of eight columns;
 * bit 1 every column; bit 2 the answers are replayed (a rescan).
 *
 *-------------------------------------------------------------------------
 */
/* FUZZ-LINK: src/jsonwalk.c src/values.c src/message.c src/period.c */
/* FUZZ-LINK: src/request.c src/option.c src/quals.c src/gcp/provider.c src/gcp/docs.c */
/* FUZZ-LINK: src/gcp/monitoring.c src/gcp/focus.c src/focus.c src/derived.c */
#include "../../src/gcp/bigquery.c"

#include "pg_stub.h"

#define MAX_PAGES 5

typedef struct Input
{
	const uint8_t *data;
	size_t		size;
} Input;

static void
upper_item(FuScan *scan, BqState *st, FuUpperKind kind, int col, Oid type)
{
	FuUpperItem *it = palloc0(sizeof(FuUpperItem));

	it->kind = kind;
	it->col = col;
	it->type = type;
	scan->upper = lappend(scan->upper, it);
	add_item(st, kind, col);
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
	int			p = 0;
	FuScan	   *scan;
	BqState    *st;
	FuRequest  *req;
	MemoryContext old;

	npages = fu_fuzz_split(in->data + (in->size > 0), in->size - (in->size > 0),
						   pages, lens, MAX_PAGES);
	for (int i = 0; i < npages; i++)
		kept[i] = fu_fuzz_copy(pages[i], lens[i]);

	scan = fu_fuzz_scan(&fu_source_gcp_cost, NULL);
	old = MemoryContextSwitchTo(scan->req_cxt);
	st = palloc0(sizeof(BqState));
	scan->pstate = st;
	st->project = "acme-billing";
	st->base = fu_base_url(scan->server, GCP_BIGQUERY_HOST);
	st->items = palloc0(sizeof(BqItem) * (NUM_COLS + 8));
	if (settings & 1)
	{
		upper_item(scan, st, FU_UPPER_GROUP, COL_SERVICE, TEXTOID);
		upper_item(scan, st, FU_UPPER_COUNT_STAR, -1, INT8OID);
		upper_item(scan, st, FU_UPPER_SUM, COL_COST, NUMERICOID);
		upper_item(scan, st, FU_UPPER_AVG, COL_COST, NUMERICOID);
		upper_item(scan, st, FU_UPPER_MIN, COL_USAGE_START_TIME, TIMESTAMPTZOID);
		upper_item(scan, st, FU_UPPER_COUNT, COL_CREDITS, INT8OID);
	}
	else if (settings & 2)
	{
		for (int c = 0; c < NUM_COLS; c++)
			add_item(st, FU_UPPER_GROUP, c);
	}
	else
	{
		static const int cols[] = {COL_USAGE_START_TIME, COL_USAGE_END_TIME,
			COL_PROJECT_ID, COL_SERVICE, COL_COST, COL_CREDITS, COL_CURRENCY,
		COL_LABELS};

		for (int i = 0; i < lengthof(cols); i++)
			add_item(st, FU_UPPER_GROUP, cols[i]);
	}
	req = fu_request_new(scan, "BigQuery jobs.query", "POST", st->base,
						 "bigquery/v2/projects/acme-billing/queries");
	fu_request_body(req, "application/json",
					"{\"query\":\"SELECT 1\",\"useLegacySql\":false}",
					strlen("{\"query\":\"SELECT 1\",\"useLegacySql\":false}"));
	req->billable = false;
	MemoryContextSwitchTo(old);

	do
	{
		fu_fuzz_parse_page(scan, req, pages[p], lens[p]);
		p++;
		fu_fuzz_rows(scan, 100000);
	} while (p < npages && req->next != FU_NEXT_NONE);

	if (settings & 4)
	{
		scan->replaying = true;
		for (int i = 0; i < p; i++)
		{
			fu_fuzz_parse_page(scan, req, kept[i], lens[i]);
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
