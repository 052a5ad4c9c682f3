/*-------------------------------------------------------------------------
 *
 * explain.c
 *		  EXPLAIN of a foreign scan: the requests it will send (secrets
 *		  removed: signatures are made only when sending), how credentials
 *		  are obtained, the billable calls; with ANALYZE, the calls made.
 *		  EXPLAIN without ANALYZE makes no network call.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "engine.h"
#include "utils/builtins.h"
#include "utils/rel.h"

/* What the scan did: billable calls made, cache hits, spend */
static void
explain_analyze(FuScan *scan, ExplainState *es)
{
	ExplainPropertyInteger("Billable calls made", NULL, scan->calls, es);
	if (fu_cache_enabled())
		ExplainPropertyInteger("Cache hits", NULL, scan->cache_hits, es);
	ExplainPropertyText("Estimated spend", psprintf("%.6f USD", scan->spend), es);
}

void
fuExplainForeignScan(ForeignScanState *node, ExplainState *es)
{
	FuScanState *fss = (FuScanState *) node->fdw_state;
	FuScan	   *scan = &fss->scan;
	ListCell   *lc;
	char	   *auth;

	/* an aggregate scan has no relation of its own to name (as postgres_fdw) */
	if (scan->upper != NIL)
		ExplainPropertyText("Relations",
							psprintf("Aggregate on (%s)",
									 quote_identifier(RelationGetRelationName(scan->rel))),
							es);
	if (!es->verbose)
	{
		if (es->analyze)
			explain_analyze(scan, es);
		return;
	}
	if (!fss->built && !scan->explain_only)
		fu_build_requests(fss, node->ss.ps.ps_ExprContext, true);
	ExplainPropertyText("API", scan->source->api, es);
	if (scan->upper != NIL)
		ExplainPropertyText("Aggregation pushed down",
							fu_upper_text(scan->upper, scan->source), es);
	auth = fu_auth_describe(scan->provider, scan->server, scan->user);
	if (auth)
		ExplainPropertyText("Credentials", auth, es);
	foreach(lc, scan->requests)
	{
		FuRequest  *req = (FuRequest *) lfirst(lc);

		ExplainPropertyText(req->explain_tag ?
							psprintf("Request (%s)", req->explain_tag) : "Request",
							fu_request_explain(req), es);
	}
	if (scan->requests == NIL && !scan->unbound)
		ExplainPropertyText("Note",
							"no request is needed: the conditions exclude every row",
							es);
	if (scan->unbound)
		ExplainPropertyText("Note",
							"some values come from parameters bound when the scan starts: the request is shown without them, or with ? for a text value",
							es);
	if (scan->source->explain)
		scan->source->explain(scan, es);
	if (scan->source->call_price > 0)
		ExplainPropertyText("Billable calls",
							psprintf("%s%d (%.2f USD each)",
									 scan->source->paged ? "at least " : "",
									 scan->est_calls, scan->source->call_price),
							es);
	else
		ExplainPropertyText("Billable calls",
							psprintf("%s%d", scan->source->paged ? "at least " : "",
									 scan->est_calls),
							es);
	/* after ANALYZE the scan's own answers would be counted */
	if (fu_cache_enabled() && !scan->unbound && !es->analyze)
	{
		int			cached = 0;

		foreach(lc, scan->requests)
		{
			FuRequest  *req = (FuRequest *) lfirst(lc);

			if (req->billable && fu_cache_probe(&fss->sender, req))
				cached++;
		}
		ExplainPropertyInteger("Billable calls in the cache", NULL, cached, es);
	}
	if (es->analyze)
		explain_analyze(scan, es);
}
