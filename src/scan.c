/*-------------------------------------------------------------------------
 *
 * scan.c
 *		  Executing a foreign scan: bind the values of the pushed quals, let
 *		  the source build its requests, send them (concurrently, through
 *		  request.c), and turn each response page into rows in a per-page
 *		  memory context.
 *
 * Values are bound at the first fetch, when the parameters of subqueries,
 * outer queries and nested loops are set.  A rescan whose parameters do not
 * change the requests sends nothing: it replays the rows (a tuplestore,
 * when the plan asks for rewinds) or parses the pages it kept (as long as
 * they fit in work_mem).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "engine.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/rel.h"

/*
 * A response page kept for rescans that do not change parameters, as long
 * as the pages of the scan fit in work_mem: re-parsing is far cheaper than
 * a billable call.
 */
typedef struct KeptPage
{
	FuRequest  *req;
	char	   *body;
	size_t		len;
	int			index;			/* of the page in its request */
} KeptPage;

static bool
collect_exec_params(Node *node, Bitmapset **ids)
{
	if (node == NULL)
		return false;
	if (IsA(node, Param) && ((Param *) node)->paramkind == PARAM_EXEC)
		*ids = bms_add_member(*ids, ((Param *) node)->paramid);
	return expression_tree_walker(node, collect_exec_params, ids);
}

void
fuBeginForeignScan(ForeignScanState *node, int eflags)
{
	ForeignScan *fsplan = (ForeignScan *) node->ss.ps.plan;
	EState	   *estate = node->ss.ps.state;

	/* an aggregate scan (scanrelid 0) reads the one table it was made of */
	Index		rtindex = fsplan->scan.scanrelid > 0 ? fsplan->scan.scanrelid :
		bms_next_member(fsplan->fs_relids, -1);
	RangeTblEntry *rte = exec_rt_fetch(rtindex, estate);
	Oid			userid = OidIsValid(rte->checkAsUser) ? rte->checkAsUser : GetUserId();
	FuScanState *fss;
	int			nvalues;
	FuScan	   *scan;
	ForeignTable *table;
	ListCell   *lc;
	MemoryContext old;

	fss = palloc0(sizeof(FuScanState));
	node->fdw_state = fss;
	scan = &fss->scan;
	fss->eflags = eflags;
	fss->keep = true;
	scan->scan_cxt = AllocSetContextCreate(estate->es_query_cxt,
										   "finops_usage scan",
										   ALLOCSET_DEFAULT_SIZES);
	scan->req_cxt = AllocSetContextCreate(scan->scan_cxt,
										  "finops_usage requests",
										  ALLOCSET_DEFAULT_SIZES);
	scan->page_cxt = AllocSetContextCreate(scan->scan_cxt,
										   "finops_usage page",
										   ALLOCSET_DEFAULT_SIZES);
	fss->row_cxt = AllocSetContextCreate(scan->scan_cxt,
										 "finops_usage row",
										 ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(scan->scan_cxt);

	scan->rel = fsplan->scan.scanrelid > 0 ? node->ss.ss_currentRelation :
		ExecGetRangeTableRelation(estate, rtindex);
	scan->explain_only = (eflags & EXEC_FLAG_EXPLAIN_ONLY) != 0;
	table = GetForeignTable(RelationGetRelid(scan->rel));
	scan->server = GetForeignServer(table->serverid);
	scan->user = GetUserMapping(userid, scan->server->serverid);
	scan->provider = fu_server_provider(scan->server);
	scan->source = fu_resolve_table(scan->rel, scan->server, table,
									&fss->attr_to_col);
	fss->natts = RelationGetDescr(scan->rel)->natts;

	foreach(lc, (List *) list_nth(fsplan->fdw_private, FuPrivQuals))
	{
		List	   *l = (List *) lfirst(lc);
		FuQual	   *q = palloc0(sizeof(FuQual));

		q->col = intVal(linitial(l));
		q->op = (FuOp) intVal(lsecond(l));
		q->valtype = (Oid) intVal(lthird(l));
		q->pushdown = (FuPushdown) intVal(lfourth(l));
		q->join = boolVal(list_nth(l, 4));
		scan->quals = lappend(scan->quals, q);
	}
	foreach(lc, (List *) list_nth(fsplan->fdw_private, FuPrivNeeded))
		scan->needed = bms_add_member(scan->needed, intVal(lfirst(lc)));
	scan->plan_private = (List *) list_nth(fsplan->fdw_private, FuPrivProvider);
	fss->exprstates = ExecInitExprList(fsplan->fdw_exprs, (PlanState *) node);
	collect_exec_params((Node *) fsplan->fdw_exprs, &fss->param_ids);
	foreach(lc, (List *) list_nth(fsplan->fdw_private, FuPrivUpper))
	{
		List	   *l = (List *) lfirst(lc);
		FuUpperItem *it = palloc(sizeof(FuUpperItem));

		it->kind = (FuUpperKind) intVal(linitial(l));
		it->col = intVal(lsecond(l));
		it->type = (Oid) intVal(lthird(l));
		scan->upper = lappend(scan->upper, it);
	}
	/* by source column, or by aggregate item */
	nvalues = Max(scan->source->ncolumns, list_length(scan->upper));
	fss->values = palloc0(sizeof(Datum) * nvalues);
	fss->nulls = palloc0(sizeof(bool) * nvalues);
	scan->fixed_values = palloc0(sizeof(Datum) * scan->source->ncolumns);
	scan->fixed_cols = palloc0(sizeof(int) * scan->source->ncolumns);
	fu_sender_init(&fss->sender, scan->provider, scan->server, scan->user,
				   scan->req_cxt);
	MemoryContextSwitchTo(old);

	/* EXPLAIN without ANALYZE shows the requests but sends nothing */
	if (scan->explain_only)
		fu_build_requests(fss, node->ss.ps.ps_ExprContext, true);
}

/*
 * Build the source's requests from the current qual values.  For display
 * (EXPLAIN), values that need parameters not yet available stay unbound;
 * for execution this runs at the first fetch.
 */
void
fu_build_requests(FuScanState *fss, ExprContext *econtext, bool display)
{
	FuScan	   *scan = &fss->scan;
	MemoryContext old = MemoryContextSwitchTo(scan->req_cxt);
	ListCell   *lc;

	fu_bind_quals(scan->source, scan->quals, fss->exprstates, econtext,
				  !display);
	scan->unbound = false;
	foreach(lc, scan->quals)
	{
		FuQual	   *q = (FuQual *) lfirst(lc);

		if (!q->known || q->placeholder)
			scan->unbound = true;
	}
	scan->requests = NIL;
	scan->est_calls = 0;
	scan->pstate = NULL;
	scan->nfixed = 0;
	fu_check_closed_values(scan);

	/* a pushed qual no row can satisfy (= NULL, IN ()): nothing to ask */
	foreach(lc, scan->quals)
	{
		FuQual	   *q = (FuQual *) lfirst(lc);

		if (q->known && fu_qual_matches_nothing(q))
		{
			MemoryContextSwitchTo(old);
			return;
		}
	}
	scan->source->begin(scan);
	foreach(lc, scan->requests)
		if (((FuRequest *) lfirst(lc))->billable)
			scan->est_calls++;
	MemoryContextSwitchTo(old);
}

void
fu_scan_fix(FuScan *scan, int col, Datum value)
{
	Assert(col >= 0 && col < scan->source->ncolumns);
	for (int i = 0; i < scan->nfixed; i++)
		if (scan->fixed_cols[i] == col)
		{
			scan->fixed_values[col] = value;
			return;
		}
	scan->fixed_cols[scan->nfixed++] = col;
	scan->fixed_values[col] = value;
}

static void
check_billable(FuScan *scan, int more)
{
	if (fu_max_billable_calls > 0 && scan->calls + more > fu_max_billable_calls)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("scan of \"%s\" would exceed finops_usage.max_billable_calls (%d)",
						RelationGetRelationName(scan->rel), fu_max_billable_calls),
				 errdetail("It has made %d billable calls to %s and needs at least %d more.",
						   scan->calls, scan->source->api, more),
				 errhint("Narrow the time window or the filters, or raise finops_usage.max_billable_calls.")));
}

/* Send every request not yet sent, checking the billable-call cap */
static void
start_requests(FuScanState *fss)
{
	FuScan	   *scan = &fss->scan;
	ListCell   *lc;
	int			n = 0;

	/*
	 * Answers the result cache has cost nothing: take them first.  Their
	 * bodies are read one at a time, when fu_receive hands them out, so
	 * that memory stays bounded by page however many there are.
	 */
	if (fu_cache_enabled())
	{
		FuStats		delta = {0};

		foreach(lc, scan->requests)
		{
			FuRequest  *req = (FuRequest *) lfirst(lc);

			/* a job still running is asked again, never looked up */
			if (req->done || req->in_flight || req->next == FU_NEXT_POLL)
				continue;
			if (fu_cache_probe(&fss->sender, req) ||
				fu_cache_claim(&fss->sender, req))
			{
				fu_send_cached(&fss->sender, req);
				req->from_cache = true;
			}
			else
				delta.cache_misses++;
		}
		fu_stats_add(scan->server->serverid, &delta);
	}

	/* refuse the lot before sending any of it */
	foreach(lc, scan->requests)
	{
		FuRequest  *req = (FuRequest *) lfirst(lc);

		if (!req->done && !req->in_flight && req->billable &&
			req->next != FU_NEXT_POLL)
			n++;
	}
	if (n > 0)
		check_billable(scan, n);
	foreach(lc, scan->requests)
	{
		FuRequest  *req = (FuRequest *) lfirst(lc);

		if (req->done || req->in_flight)
			continue;
		/* a poll of an unfinished job is not billed */
		if (req->billable && req->next != FU_NEXT_POLL)
			scan->calls++;
		req->from_cache = false;
		fu_send(&fss->sender, req);
	}
}

/* Parse a page in the page context (the caller reset it) */
static void
parse_page(FuScan *scan, FuRequest *req, char *body, size_t len)
{
	MemoryContext old = MemoryContextSwitchTo(scan->page_cxt);

	scan->source->parse_page(scan, req, body, len);
	MemoryContextSwitchTo(old);
}

/* Keep a copy of a page for rescans, while they fit in work_mem */
static void
keep_page(FuScanState *fss, FuRequest *req, const char *body, size_t len)
{
	KeptPage   *kp;
	MemoryContext old;

	/* rows kept in the rescan tuplestore need no pages as well */
	if (!fss->keep || fss->store)
		return;
	if (fss->kept_bytes + len > (Size) work_mem * 1024)
	{
		ListCell   *lc;

		foreach(lc, fss->kept)
			pfree(((KeptPage *) lfirst(lc))->body);
		list_free_deep(fss->kept);
		fss->kept = NIL;
		fss->keep = false;
		return;
	}
	old = MemoryContextSwitchTo(fss->scan.req_cxt);
	kp = palloc(sizeof(KeptPage));
	kp->req = req;
	kp->body = palloc(len + 1);
	memcpy(kp->body, body, len + 1);
	kp->len = len;
	kp->index = req->pages;
	fss->kept = lappend(fss->kept, kp);
	fss->kept_bytes += len;
	fss->next_kept = list_length(fss->kept);
	MemoryContextSwitchTo(old);
}

/*
 * The next answer that is fine to parse.  Expired credentials are
 * refreshed once and the request sent again; any other failure is the
 * provider's to report.
 */
static FuRequest *
next_response(FuScanState *fss)
{
	FuScan	   *scan = &fss->scan;

	for (;;)
	{
		FuRequest  *req;
		ErrorContextCallback errcb;
		FuStats		delta = {0};

		start_requests(fss);
		req = fu_receive(&fss->sender);
		if (req == NULL || req->verdict == FU_VERDICT_OK)
			return req;

		if (req->verdict == FU_VERDICT_EXPIRED && !req->auth_retried)
		{
			/* fu_send gets new credentials for it */
			req->auth_retried = true;
			fu_http_release(&req->http);
			fu_send(&fss->sender, req);
			continue;
		}
		fu_request_errcontext(&errcb, req);
		delta.errors = 1;
		fu_stats_add(scan->server->serverid, &delta);
		scan->provider->report_error(req, req->cred);
	}
}

/*
 * A page from the network is parsed: count it and what it cost, and keep
 * it in the result cache (as it came: body is a copy made before the
 * parse, which works in place), unless it only said to ask again later.
 */
static void
page_done(FuScanState *fss, FuRequest *req, FuCacheKey *key, char *body)
{
	FuScan	   *scan = &fss->scan;
	FuStats		delta = {0};

	/* the calls' list prices were counted when they were sent */
	scan->spend += req->page_cost;
	delta.pages = 1;
	delta.cost_pico = fu_stats_pico(req->page_cost);
	fu_stats_add(scan->server->serverid, &delta);

	/*
	 * Only a single-page answer is kept for cache_ttl_final: the pages of
	 * one answer must not outlive the first, whose tokens lead to them
	 */
	if (body != NULL && req->next != FU_NEXT_POLL)
		fu_cache_put(key, req, body, req->http.resp_len,
					 req->page_final && req->pages == 0 && req->next == FU_NEXT_NONE);
	fu_cache_release(req);
}

/* Give up the claims on pages not fetched yet */
static void
release_claims(FuScan *scan)
{
	ListCell   *lc;

	foreach(lc, scan->requests)
		fu_cache_release((FuRequest *) lfirst(lc));
}

/*
 * Parse the next page into the page context: a kept one when a rescan
 * replays them, else the next response.  False when every request is done.
 */
static bool
fetch_page(FuScanState *fss)
{
	FuScan	   *scan = &fss->scan;
	FuRequest  *req;
	ErrorContextCallback errcb;
	char	   *raw = NULL;
	FuCacheKey *key = NULL;

	/* the rows of the previous page are consumed: its buffer can go */
	if (fss->page_req)
	{
		fu_http_release(&fss->page_req->http);
		fss->page_req = NULL;
	}
	if (fss->keep && fss->next_kept < list_length(fss->kept))
	{
		KeptPage   *kp = (KeptPage *) list_nth(fss->kept, fss->next_kept++);
		char	   *copy;

		/* pages are parsed in place: parse a copy, the kept one stays */
		MemoryContextReset(scan->page_cxt);
		copy = MemoryContextAlloc(scan->page_cxt, kp->len + 1);
		memcpy(copy, kp->body, kp->len + 1);
		scan->replaying = true;
		scan->page_index = kp->index;
		parse_page(scan, kp->req, copy, kp->len);
		scan->replaying = false;
		return true;
	}

	req = next_response(fss);
	if (req == NULL)
		return false;

	fu_request_errcontext(&errcb, req);

	/* keep the page as it came: parsing works in place */
	if (!req->discovery)
		keep_page(fss, req, req->http.resp, req->http.resp_len);

	/*
	 * The previous page's rows go now, not before the response arrived:
	 * freed first, their large blocks went back to the system and every
	 * page faulted them in again (2.5 times slower).
	 */
	MemoryContextReset(scan->page_cxt);
	req->next = FU_NEXT_NONE;
	scan->page_index = req->pages;
	req->page_final = false;
	req->page_cost = 0;
	if (!req->from_cache && fu_cache_enabled() &&
		req->http.status >= 200 && req->http.status < 300)
	{
		MemoryContext old = MemoryContextSwitchTo(scan->req_cxt);

		key = fu_cache_key(&fss->sender, req);
		raw = MemoryContextAllocHuge(scan->req_cxt, req->http.resp_len + 1);
		memcpy(raw, req->http.resp, req->http.resp_len + 1);
		MemoryContextSwitchTo(old);
	}
	parse_page(scan, req, req->http.resp, req->http.resp_len);
	if (!req->from_cache)
		page_done(fss, req, key, raw);
	if (raw)
	{
		pfree(raw);
		pfree(key->key);
		pfree(key->path);
		pfree(key);
	}
	/* the rows point into the response: it is released with the page */
	fss->page_req = req;
	if (req->next != FU_NEXT_POLL)
		req->pages++;
	/* credentials that expire later get their own retry */
	req->auth_retried = false;
	if (req->next == FU_NEXT_NONE)
		req->done = true;

	error_context_stack = errcb.previous;
	return true;
}

/*
 * An aggregate scan's row: the items in order.  A month the source gives
 * as a date becomes what date_trunc returns, as PostgreSQL casts it.
 */
static void
upper_row(FuScanState *fss, TupleTableSlot *slot)
{
	ListCell   *lc;

	foreach(lc, fss->scan.upper)
	{
		FuUpperItem *it = (FuUpperItem *) lfirst(lc);
		int			i = foreach_current_index(lc);
		Datum		v = fss->values[i];

		slot->tts_isnull[i] = fss->nulls[i];
		if (!fss->nulls[i] && it->kind == FU_UPPER_GROUP_MONTH)
			v = it->type == TIMESTAMPTZOID ?
				DirectFunctionCall1(date_timestamptz, v) :
				DirectFunctionCall1(date_timestamp, v);
		slot->tts_values[i] = fss->nulls[i] ? (Datum) 0 : v;
	}
}

/*
 * Aggregates without GROUP BY give one row even when no row matched
 * (count 0, the others NULL): the provider may have had nothing to ask.
 */
static bool
empty_aggregate(FuScanState *fss, TupleTableSlot *slot)
{
	ListCell   *lc;

	foreach(lc, fss->scan.upper)
		if (FU_UPPER_IS_GROUP((FuUpperItem *) lfirst(lc)))
			return false;
	foreach(lc, fss->scan.upper)
	{
		FuUpperItem *it = (FuUpperItem *) lfirst(lc);
		int			i = foreach_current_index(lc);
		bool		count = it->kind == FU_UPPER_COUNT || it->kind == FU_UPPER_COUNT_STAR;

		slot->tts_isnull[i] = !count;
		slot->tts_values[i] = count ? Int64GetDatum(0) : (Datum) 0;
	}
	return true;
}

TupleTableSlot *
fuIterateForeignScan(ForeignScanState *node)
{
	FuScanState *fss = (FuScanState *) node->fdw_state;
	FuScan	   *scan = &fss->scan;
	TupleTableSlot *slot = node->ss.ss_ScanTupleSlot;

	ExecClearTuple(slot);
	if (fss->replay)
	{
		/*
		 * The rows stored so far, then on with fetching if asked for more.
		 * A tuple read back from disk is palloc'd in the current context,
		 * which is reset for every row: read it in the scan's.
		 */
		MemoryContext old = MemoryContextSwitchTo(scan->scan_cxt);
		bool		got = tuplestore_gettupleslot(fss->store, true, false,
												  fss->store_slot);

		MemoryContextSwitchTo(old);
		if (got)
			return ExecCopySlot(slot, fss->store_slot);
		fss->replay = false;
	}
	if (fss->eof)
		return slot;

	if (!fss->built)
	{
		fu_build_requests(fss, node->ss.ps.ps_ExprContext, false);
		fss->built = true;
	}
	if (!fss->started && (fss->eflags & EXEC_FLAG_REWIND))
	{
		MemoryContext old = MemoryContextSwitchTo(scan->scan_cxt);

		fss->store = tuplestore_begin_heap(false, false, work_mem);
		if (fss->store_slot == NULL)
			fss->store_slot = MakeSingleTupleTableSlot(slot->tts_tupleDescriptor,
														&TTSOpsMinimalTuple);
		MemoryContextSwitchTo(old);
	}
	fss->started = true;
	MemoryContextReset(fss->row_cxt);

	for (;;)
	{
		if (fss->page_ready)
		{
			MemoryContext old = MemoryContextSwitchTo(fss->row_cxt);
			bool		got;

			memset(fss->nulls, true, sizeof(bool) *
				   Max(scan->source->ncolumns, list_length(scan->upper)));
			for (int i = 0; scan->upper == NIL && i < scan->nfixed; i++)
			{
				int			c = scan->fixed_cols[i];

				fss->values[c] = scan->fixed_values[c];
				fss->nulls[c] = false;
			}
			got = scan->source->next_row(scan, fss->values, fss->nulls);
			MemoryContextSwitchTo(old);
			if (got)
				break;
			fss->page_ready = false;
		}
		if (!fetch_page(fss))
		{
			fss->eof = true;
			if (!fss->rows_out && scan->upper != NIL && empty_aggregate(fss, slot))
				break;
			return slot;
		}
		fss->page_ready = true;
	}

	if (scan->upper != NIL && !fss->eof)
		upper_row(fss, slot);
	else if (scan->upper == NIL)
		for (int a = 1; a <= fss->natts; a++)
		{
			int			col = fss->attr_to_col[a];

			slot->tts_isnull[a - 1] = (col < 0) ? true : fss->nulls[col];
			slot->tts_values[a - 1] = (col < 0) ? (Datum) 0 : fss->values[col];
		}
	ExecStoreVirtualTuple(slot);
	fss->rows_out = true;
	if (fss->store)
		tuplestore_puttupleslot(fss->store, slot);
	return slot;
}

/* New parameter values: forget the requests and what they fetched */
static void
restart(FuScanState *fss)
{
	FuScan	   *scan = &fss->scan;

	/*
	 * Abandon what is still in flight for the old parameters: resetting the
	 * context runs the batch's callback, which frees the curl side.
	 */
	release_claims(scan);
	MemoryContextReset(scan->req_cxt);
	fss->sender.batch = NULL;	/* freed with req_cxt; made again on a send */
	fss->sender.ready = NIL;
	fss->sender.cache_identity = NULL;
	fss->page_req = NULL;		/* freed with req_cxt */
	MemoryContextReset(scan->page_cxt);
	fss->page_ready = false;
	fss->eof = false;
	fss->started = false;
	fss->rows_out = false;
	fss->replay = false;
	fss->kept = NIL;			/* freed with req_cxt */
	fss->kept_bytes = 0;
	fss->keep = true;
	fss->next_kept = 0;
	if (fss->store)
	{
		tuplestore_end(fss->store);
		fss->store = NULL;
	}
	scan->requests = NIL;
	/* scan->calls goes on counting: the cap is for the whole scan */
	fss->built = false;			/* the next fetch builds them anew */
}

void
fuReScanForeignScan(ForeignScanState *node)
{
	FuScanState *fss = (FuScanState *) node->fdw_state;

	/* parameters that only feed local filters do not change the requests */
	bool		same = !bms_overlap(node->ss.ps.chgParam, fss->param_ids);

	if (!fss->built)
		return;
	/* a nested loop's parameters are "changed" even when a value repeats */
	if (!same)
	{
		MemoryContext old = MemoryContextSwitchTo(fss->row_cxt);

		same = fu_quals_unchanged(fss->scan.source, fss->scan.quals,
								  fss->exprstates, node->ss.ps.ps_ExprContext);
		MemoryContextSwitchTo(old);
		MemoryContextReset(fss->row_cxt);
	}
	if (same && fss->store != NULL)
	{
		/* same parameters: replay the stored rows; fetch more only if asked */
		fss->replay = true;
		tuplestore_rescan(fss->store);
		return;
	}
	if (same && fss->keep)
	{
		/* same parameters: parse the kept pages again, then go on */
		fss->next_kept = 0;
		fss->page_ready = false;
		fss->eof = false;
		fss->rows_out = false;
		return;
	}
	restart(fss);
}

void
fuEndForeignScan(ForeignScanState *node)
{
	FuScanState *fss = (FuScanState *) node->fdw_state;

	if (fss == NULL)
		return;
	fu_stats_flush();
	release_claims(&fss->scan);
	fu_cache_trim();
	if (fss->store)
		tuplestore_end(fss->store);
	if (fss->store_slot)
		ExecDropSingleTupleTableSlot(fss->store_slot);
	/* releases curl handles and buffers through the batch's callback */
	MemoryContextDelete(fss->scan.scan_cxt);
	node->fdw_state = NULL;
}
