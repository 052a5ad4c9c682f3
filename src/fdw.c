/*-------------------------------------------------------------------------
 *
 * fdw.c
 *		  The generic engine of finops_usage: planner and executor callbacks.
 *
 * Planning resolves the foreign table to a provider "source", lets the
 * provider decide which quals it pushes down (exactly, or as a narrowing
 * that is rechecked) and plan the shape of its request.  Execution binds
 * run-time values ($1, now(), current_date), lets the provider build its
 * requests, sends them (concurrently when independent, through http.c),
 * and turns each response page into rows in a per-page memory context.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "finops_usage.h"
#include "foreign/fdwapi.h"
#include "mb/pg_wchar.h"
#include "nodes/nodeFuncs.h"
#include "utils/json.h"
#include "miscadmin.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/planmain.h"
#include "optimizer/restrictinfo.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/tuplestore.h"

PG_FUNCTION_INFO_V1(finops_usage_handler);

#define FU_EXPLAIN_BODY_MAX 1000	/* request body bytes EXPLAIN shows */

/*
 * Indexes of fdw_private of a ForeignScan.  The list must stay copyable:
 * String, Integer and List nodes only.
 */
enum FuScanPrivateIndex
{
	FuPrivSource,				/* String: source name */
	FuPrivQuals,				/* List of [col, op, valtype, pushdown] */
	FuPrivNeeded,				/* List of Integer: needed source columns */
	FuPrivProvider				/* List: the provider's plan */
};

/* Planner state kept in baserel->fdw_private */
typedef struct FuRelInfo
{
	const FuSource *source;
	int		   *attr_to_col;
	List	   *quals;			/* FuQual * with pushdown decided */
	Bitmapset  *needed;
	List	   *plan_private;
	int			calls;
} FuRelInfo;

/* Executor state */
typedef struct FuScanState
{
	FuScan		scan;
	int		   *attr_to_col;
	int			natts;
	List	   *exprstates;		/* values of scan.quals */
	Datum	   *values;			/* one row, by source column */
	bool	   *nulls;
	MemoryContext row_cxt;		/* reset for every row */
	FuHttpBatch *batch;
	bool		built;			/* requests built from the current values */
	Bitmapset  *param_ids;		/* PARAM_EXEC params the pushed values use */
	bool		started;
	bool		page_ready;		/* a parsed page has rows left */
	bool		eof;
	Tuplestorestate *store;		/* rows kept for rescans (REWIND) */
	TupleTableSlot *store_slot; /* reads store (minimal tuples) */
	bool		replay;			/* serve a rescan from store */
	List	   *kept;			/* KeptPage *: response pages, for rescans */
	Size		kept_bytes;
	bool		keep;			/* kept still holds every page so far */
	int			next_kept;		/* next kept page to serve */
	FuHttpRequest *page_http;	/* response the current page's rows point into */
	int			eflags;
} FuScanState;

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
} KeptPage;

/*
 * Resolve a foreign table to its source and map its columns, by name, to
 * the source's columns.
 */
static const FuSource *
resolve_table(Relation rel, ForeignTable *table, ForeignServer *server,
			  int **attr_to_col_out)
{
	TupleDesc	tupdesc = RelationGetDescr(rel);
	char	   *srcname = fu_get_option(table->options, "source");
	const FuSource *src;
	int		   *attr_to_col;
	const char *provider = fu_server_provider(server);

	if (srcname == NULL)
		srcname = RelationGetRelationName(rel);
	src = fu_find_source(srcname);
	if (src == NULL)
	{
		const char *closest = fu_closest_source(srcname);

		ereport(ERROR,
				(errcode(ERRCODE_FDW_TABLE_NOT_FOUND),
				 errmsg("foreign table \"%s\" does not name a finops_usage source",
						RelationGetRelationName(rel)),
				 closest ?
				 errhint("Set the table option \"source\", for example OPTIONS (source '%s').", closest) :
				 errhint("Set the table option \"source\", or use IMPORT FOREIGN SCHEMA.")));
	}
	if (strcmp(src->provider, provider) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("source \"%s\" needs a server with provider \"%s\", but server \"%s\" has provider \"%s\"",
						src->name, src->provider, server->servername, provider)));

	attr_to_col = palloc(sizeof(int) * (tupdesc->natts + 1));
	attr_to_col[0] = -1;
	for (int i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);
		int			col = -1;

		attr_to_col[i + 1] = -1;
		if (att->attisdropped)
			continue;
		for (int c = 0; c < src->ncolumns; c++)
			if (strcmp(NameStr(att->attname), src->columns[c].name) == 0)
				col = c;
		if (col < 0)
		{
			const char *names[128];
			const char *closest;
			int			n;

			for (n = 0; n < src->ncolumns && n < lengthof(names) - 1; n++)
				names[n] = src->columns[n].name;
			names[n] = NULL;
			closest = fu_closest_match(NameStr(att->attname), names);
			ereport(ERROR,
					(errcode(ERRCODE_FDW_COLUMN_NAME_NOT_FOUND),
					 errmsg("column \"%s\" of foreign table \"%s\" is not a column of source \"%s\"",
							NameStr(att->attname), RelationGetRelationName(rel),
							src->name),
					 closest ? errhint("Perhaps you meant the column \"%s\".", closest) : 0));
		}
		if (att->atttypid != src->columns[col].type)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
					 errmsg("column \"%s\" of foreign table \"%s\" has type %s, but source \"%s\" provides %s",
							NameStr(att->attname), RelationGetRelationName(rel),
							format_type_be(att->atttypid), src->name,
							format_type_be(src->columns[col].type))));
		attr_to_col[i + 1] = col;
	}
	*attr_to_col_out = attr_to_col;
	return src;
}

/* Source columns referenced by expressions of the relation */
static Bitmapset *
columns_used(List *exprs, Index relid, const int *attr_to_col, int natts)
{
	Bitmapset  *attrs = NULL;
	Bitmapset  *cols = NULL;
	int			i = -1;

	pull_varattnos((Node *) exprs, relid, &attrs);
	while ((i = bms_next_member(attrs, i)) >= 0)
	{
		AttrNumber	attno = i + FirstLowInvalidHeapAttributeNumber;

		if (attno == 0)
		{
			/* whole-row reference: every column */
			for (int a = 1; a <= natts; a++)
				if (attr_to_col[a] >= 0)
					cols = bms_add_member(cols, attr_to_col[a]);
		}
		else if (attno > 0 && attr_to_col[attno] >= 0)
			cols = bms_add_member(cols, attr_to_col[attno]);
	}
	return cols;
}

static void
fuGetForeignRelSize(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid)
{
	FuRelInfo  *fpinfo = palloc0(sizeof(FuRelInfo));
	ForeignTable *table = GetForeignTable(foreigntableid);
	ForeignServer *server = GetForeignServer(table->serverid);
	Relation	rel = table_open(foreigntableid, NoLock);
	int			natts = RelationGetDescr(rel)->natts;
	List	   *other_conds;
	List	   *local_exprs = NIL;
	List	   *unpushed_quals;
	ListCell   *lc;
	FuPlanInfo	pi;

	fpinfo->source = resolve_table(rel, table, server, &fpinfo->attr_to_col);
	table_close(rel, NoLock);

	fpinfo->quals = fu_extract_quals(root, baserel, fpinfo->source,
									 fpinfo->attr_to_col, &other_conds,
									 &unpushed_quals);

	/* the query must see what it outputs and what is evaluated locally */
	foreach(lc, other_conds)
		local_exprs = lappend(local_exprs, lfirst_node(RestrictInfo, lc)->clause);
	foreach(lc, fpinfo->quals)
	{
		FuQual	   *q = (FuQual *) lfirst(lc);

		if (q->pushdown != FU_PUSH_EXACT)
			local_exprs = lappend(local_exprs, q->rinfo->clause);
	}
	fpinfo->needed = columns_used(baserel->reltarget->exprs, baserel->relid,
								  fpinfo->attr_to_col, natts);
	fpinfo->needed = bms_union(fpinfo->needed,
							   columns_used(local_exprs, baserel->relid,
											fpinfo->attr_to_col, natts));

	memset(&pi, 0, sizeof(pi));
	pi.source = fpinfo->source;
	pi.root = root;
	pi.baserel = baserel;
	pi.table = table;
	pi.server = server;
	pi.quals = fpinfo->quals;
	pi.needed = fpinfo->needed;
	pi.unpushed = unpushed_quals;
	pi.rows = 1000;
	pi.calls = 1;
	fpinfo->plan_private = fpinfo->source->plan(&pi);
	fpinfo->calls = pi.calls;

	/* local quals filter some more */
	baserel->rows = clamp_row_est(pi.rows *
								  clauselist_selectivity(root, local_exprs,
														 baserel->relid,
														 JOIN_INNER, NULL));
	baserel->tuples = pi.rows;
	baserel->fdw_private = fpinfo;
}

static void
fuGetForeignPaths(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid)
{
	FuRelInfo  *fpinfo = (FuRelInfo *) baserel->fdw_private;

	/* an API call costs far more than a local page read */
	Cost		startup = 1000.0 * fpinfo->calls;
	Cost		total = startup + baserel->tuples * cpu_tuple_cost * 10;

	add_path(baserel, (Path *)
			 create_foreignscan_path(root, baserel, NULL, baserel->rows,
									 startup, total, NIL, NULL, NULL, NIL));
}

static ForeignScan *
fuGetForeignPlan(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid,
				 ForeignPath *best_path, List *tlist, List *scan_clauses,
				 Plan *outer_plan)
{
	FuRelInfo  *fpinfo = (FuRelInfo *) baserel->fdw_private;
	List	   *local_exprs = NIL;
	List	   *exact_exprs = NIL;
	List	   *qual_list = NIL;
	List	   *fdw_exprs = NIL;
	List	   *needed = NIL;
	ListCell   *lc;
	int			i;

	foreach(lc, scan_clauses)
	{
		RestrictInfo *rinfo = lfirst_node(RestrictInfo, lc);
		bool		exact = false;
		ListCell   *lq;

		if (rinfo->pseudoconstant)
			continue;
		foreach(lq, fpinfo->quals)
		{
			FuQual	   *q = (FuQual *) lfirst(lq);

			if (q->rinfo == rinfo && q->pushdown == FU_PUSH_EXACT)
				exact = true;
		}
		if (exact)
			exact_exprs = lappend(exact_exprs, rinfo->clause);
		else
			local_exprs = lappend(local_exprs, rinfo->clause);
	}

	foreach(lc, fpinfo->quals)
	{
		FuQual	   *q = (FuQual *) lfirst(lc);

		qual_list = lappend(qual_list,
							list_make4(makeInteger(q->col), makeInteger(q->op),
									   makeInteger((int) q->valtype),
									   makeInteger(q->pushdown)));
		fdw_exprs = lappend(fdw_exprs, q->valexpr);
	}
	i = -1;
	while ((i = bms_next_member(fpinfo->needed, i)) >= 0)
		needed = lappend(needed, makeInteger(i));

	return make_foreignscan(tlist, local_exprs, baserel->relid, fdw_exprs,
							list_make4(makeString(pstrdup(fpinfo->source->name)),
									   qual_list, needed,
									   fpinfo->plan_private),
							NIL, exact_exprs, outer_plan);
}

/*
 * Build the provider's requests from the current qual values.  For display
 * (EXPLAIN), values that need parameters not yet available stay unbound;
 * for execution this runs at the first fetch, when subqueries' and outer
 * queries' parameters are set.
 */
static void
build_requests(FuScanState *fss, ExprContext *econtext, bool display)
{
	FuScan	   *scan = &fss->scan;
	MemoryContext old = MemoryContextSwitchTo(scan->req_cxt);
	ListCell   *lc;

	fu_bind_quals(scan->quals, fss->exprstates, econtext, !display);
	scan->unbound = false;
	foreach(lc, scan->quals)
		if (!((FuQual *) lfirst(lc))->known)
			scan->unbound = true;
	scan->requests = NIL;
	scan->est_calls = 0;
	scan->pstate = NULL;

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
	if (scan->est_calls == 0)
		scan->est_calls = list_length(scan->requests);
	MemoryContextSwitchTo(old);
}

static bool
collect_exec_params(Node *node, Bitmapset **ids)
{
	if (node == NULL)
		return false;
	if (IsA(node, Param) && ((Param *) node)->paramkind == PARAM_EXEC)
		*ids = bms_add_member(*ids, ((Param *) node)->paramid);
	return expression_tree_walker(node, collect_exec_params, ids);
}

static void
fuBeginForeignScan(ForeignScanState *node, int eflags)
{
	ForeignScan *fsplan = (ForeignScan *) node->ss.ps.plan;
	EState	   *estate = node->ss.ps.state;
	FuScanState *fss;
	FuScan	   *scan;
	ForeignTable *table;
	Oid			userid;
	ListCell   *lc;
	List	   *qual_list;
	int		   *attr_to_col;
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

	scan->rel = node->ss.ss_currentRelation;
	scan->explain_only = (eflags & EXEC_FLAG_EXPLAIN_ONLY) != 0;
	table = GetForeignTable(RelationGetRelid(scan->rel));
	scan->server = GetForeignServer(table->serverid);
	{
		RangeTblEntry *rte = exec_rt_fetch(fsplan->scan.scanrelid, estate);

		userid = OidIsValid(rte->checkAsUser) ? rte->checkAsUser : GetUserId();
	}
	scan->user = GetUserMapping(userid, scan->server->serverid);
	scan->source = resolve_table(scan->rel, table, scan->server, &attr_to_col);
	fss->attr_to_col = attr_to_col;
	fss->natts = RelationGetDescr(scan->rel)->natts;

	qual_list = (List *) list_nth(fsplan->fdw_private, FuPrivQuals);
	foreach(lc, qual_list)
	{
		List	   *l = (List *) lfirst(lc);
		FuQual	   *q = palloc0(sizeof(FuQual));

		q->col = intVal(linitial(l));
		q->op = (FuOp) intVal(lsecond(l));
		q->valtype = (Oid) intVal(lthird(l));
		q->pushdown = (FuPushdown) intVal(lfourth(l));
		scan->quals = lappend(scan->quals, q);
	}
	foreach(lc, (List *) list_nth(fsplan->fdw_private, FuPrivNeeded))
		scan->needed = bms_add_member(scan->needed, intVal(lfirst(lc)));
	scan->plan_private = (List *) list_nth(fsplan->fdw_private, FuPrivProvider);
	fss->exprstates = ExecInitExprList(fsplan->fdw_exprs, (PlanState *) node);
	collect_exec_params((Node *) fsplan->fdw_exprs, &fss->param_ids);
	fss->values = palloc0(sizeof(Datum) * scan->source->ncolumns);
	fss->nulls = palloc0(sizeof(bool) * scan->source->ncolumns);
	MemoryContextSwitchTo(old);

	/* EXPLAIN without ANALYZE shows the requests but sends nothing */
	if (scan->explain_only)
		build_requests(fss, node->ss.ps.ps_ExprContext, true);
}

void
fu_check_billable(FuScan *scan, int more)
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

/* http.c asks whether to retry; the provider knows the wire format */
static FuHttpRetry
classify_cb(FuHttpRequest *http, void *arg)
{
	FuRequest  *req = (FuRequest *) arg;

	switch (req->scan->source->check(req->scan, req))
	{
		case FU_VERDICT_THROTTLED:
			return FU_HTTP_RETRY_THROTTLED;
		case FU_VERDICT_TRANSIENT:
			return FU_HTTP_RETRY_TRANSIENT;
		default:
			return FU_HTTP_DONE;
	}
}

static void
prepare_cb(FuHttpRequest *http, void *arg)
{
	FuRequest  *req = (FuRequest *) arg;
	MemoryContext old;

	/* the previous attempt's headers are in curl's own list by now */
	if (req->attempt_cxt == NULL)
		req->attempt_cxt = AllocSetContextCreate(req->scan->req_cxt,
												 "finops_usage attempt",
												 ALLOCSET_SMALL_SIZES);
	else
		MemoryContextReset(req->attempt_cxt);
	old = MemoryContextSwitchTo(req->attempt_cxt);
	req->scan->source->prepare(req->scan, req);
	MemoryContextSwitchTo(old);
}

/* For providers: queue a request of the scan */
FuRequest *
fu_add_request(FuScan *scan, const char *label, const char *method,
			   const char *url, const char *body)
{
	MemoryContext old = MemoryContextSwitchTo(scan->req_cxt);
	FuRequest  *req = palloc0(sizeof(FuRequest));
	char	   *ca_file = fu_get_option(scan->server->options, "ca_file");

	req->scan = scan;
	req->label = pstrdup(label);
	req->http.method = method;
	req->http.url = pstrdup(url);
	req->http.body = body ? pstrdup(body) : NULL;
	req->first_body = req->http.body;
	req->http.body_len = body ? strlen(body) : 0;
	req->http.ca_file = ca_file;
	req->http.prepare = prepare_cb;
	req->http.classify = classify_cb;
	req->http.arg = req;
	scan->requests = lappend(scan->requests, req);
	MemoryContextSwitchTo(old);
	return req;
}

/*
 * For providers: the next page's body is the first page's plus the token
 * (the APIs want the identical request otherwise).  A replayed page leaves
 * the body alone: the request may be in flight with it.
 */
void
fu_next_page_body(FuRequest *req, const char *field, const char *token)
{
	MemoryContext old;
	StringInfoData b;
	size_t		len = strlen(req->first_body);

	if (req->scan->replaying)
		return;
	if (req->body_cxt == NULL)
		req->body_cxt = AllocSetContextCreate(req->scan->req_cxt,
											  "finops_usage next page",
											  ALLOCSET_SMALL_SIZES);
	else
		MemoryContextReset(req->body_cxt);
	old = MemoryContextSwitchTo(req->body_cxt);
	initStringInfo(&b);
	/* the body is a JSON object: reopen it before its closing brace */
	appendBinaryStringInfo(&b, req->first_body, len - 1);
	if (len > 2)
		appendStringInfoChar(&b, ',');
	escape_json(&b, field);
	appendStringInfoChar(&b, ':');
	escape_json(&b, token);
	appendStringInfoChar(&b, '}');
	req->http.body = b.data;
	req->http.body_len = b.len;
	MemoryContextSwitchTo(old);
}

static void
request_error_callback(void *arg)
{
	FuRequest  *req = (FuRequest *) arg;

	errcontext("%s, page %d, for foreign table \"%s\"", req->label,
			   req->pages + 1, RelationGetRelationName(req->scan->rel));
}

/* Queue every request not yet sent, checking the billable-call cap */
static void
start_requests(FuScanState *fss)
{
	FuScan	   *scan = &fss->scan;
	ListCell   *lc;
	int			n = 0;

	if (fss->batch == NULL)
		fss->batch = fu_http_batch_create(scan->req_cxt, fu_max_concurrency);
	/* refuse the lot before sending any of it */
	foreach(lc, scan->requests)
	{
		FuRequest  *req = (FuRequest *) lfirst(lc);

		if (!req->done && !req->in_flight)
			n++;
	}
	if (n == 0)
		return;
	fu_check_billable(scan, n);
	foreach(lc, scan->requests)
	{
		FuRequest  *req = (FuRequest *) lfirst(lc);

		if (req->done || req->in_flight)
			continue;
		scan->calls++;
		req->in_flight = true;
		fu_http_batch_add(fss->batch, &req->http);
	}
}

static void
parse_page(FuScan *scan, FuRequest *req, char *body, size_t len,
		   bool *more)
{
	MemoryContext old;

	/* the caller has reset the page context */
	old = MemoryContextSwitchTo(scan->page_cxt);
	*more = scan->source->parse_page(scan, req, body, len);
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
	fss->kept = lappend(fss->kept, kp);
	fss->kept_bytes += len;
	fss->next_kept = list_length(fss->kept);
	MemoryContextSwitchTo(old);
}

/*
 * Parse the next page into the page context: a kept one when a rescan
 * replays them, else the next response.  False when every request is done.
 */
static bool
fetch_page(FuScanState *fss)
{
	FuScan	   *scan = &fss->scan;
	FuHttpRequest *http;
	FuRequest  *req;
	ErrorContextCallback errcb;
	bool		more;

	/* the rows of the previous page are consumed: its buffer can go */
	if (fss->page_http)
	{
		fu_http_release(fss->page_http);
		fss->page_http = NULL;
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
		parse_page(scan, kp->req, copy, kp->len, &more);
		scan->replaying = false;
		return true;
	}

	start_requests(fss);
	http = fu_http_batch_wait(fss->batch);
	if (http == NULL)
		return false;
	req = (FuRequest *) http->arg;
	req->in_flight = false;

	errcb.callback = request_error_callback;
	errcb.arg = req;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;

	if (http->failed && http->too_large)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("response of %s exceeds finops_usage.max_response_size (%d kB)",
						req->label, fu_max_response_kb),
				 errhint("Narrow the query, or raise finops_usage.max_response_size.")));
	if (http->failed)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
				 errmsg("could not complete a request to %s", req->label),
				 http->attempts > 1 ?
				 errdetail("The last of %d attempts failed: %s.", http->attempts, http->error) :
				 errdetail("The request failed: %s.", http->error)));
	if (scan->source->check(scan, req) != FU_VERDICT_OK)
		scan->source->report_error(scan, req);

	/* keep the page as it came: parsing works in place */
	if (!req->discovery)
		keep_page(fss, req, http->resp, http->resp_len);
	MemoryContextReset(scan->page_cxt);
	parse_page(scan, req, http->resp, http->resp_len, &more);
	/* the rows point into the response: it is released with the page */
	fss->page_http = http;
	req->pages++;
	if (!more)
		req->done = true;

	error_context_stack = errcb.previous;
	return true;
}

static TupleTableSlot *
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
		build_requests(fss, node->ss.ps.ps_ExprContext, false);
		fss->built = true;
		/* a plan known to exceed the cap is refused before any call */
		if (scan->est_calls > 1)
			fu_check_billable(scan, scan->est_calls);
	}
	if (!fss->started && (fss->eflags & EXEC_FLAG_REWIND))
	{
		MemoryContext old = MemoryContextSwitchTo(scan->scan_cxt);

		fss->store = tuplestore_begin_heap(false, false, work_mem);
		if (fss->store_slot == NULL)
			fss->store_slot = MakeSingleTupleTableSlot(RelationGetDescr(scan->rel),
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

			memset(fss->nulls, true, sizeof(bool) * scan->source->ncolumns);
			got = scan->source->next_row(scan, fss->values, fss->nulls);
			MemoryContextSwitchTo(old);
			if (got)
				break;
			fss->page_ready = false;
		}
		if (!fetch_page(fss))
		{
			fss->eof = true;
			return slot;
		}
		fss->page_ready = true;
	}

	for (int a = 1; a <= fss->natts; a++)
	{
		int			col = fss->attr_to_col[a];

		slot->tts_isnull[a - 1] = (col < 0) ? true : fss->nulls[col];
		slot->tts_values[a - 1] = (col < 0) ? (Datum) 0 : fss->values[col];
	}
	ExecStoreVirtualTuple(slot);
	if (fss->store)
		tuplestore_puttupleslot(fss->store, slot);
	return slot;
}

static void
restart(FuScanState *fss, ForeignScanState *node)
{
	FuScan	   *scan = &fss->scan;

	/*
	 * Abandon what is still in flight for the old parameters: resetting the
	 * context runs the batch's callback, which frees the curl side.
	 */
	MemoryContextReset(scan->req_cxt);
	fss->batch = NULL;
	fss->page_http = NULL;		/* freed by the batch's callback */
	MemoryContextReset(scan->page_cxt);
	fss->page_ready = false;
	fss->eof = false;
	fss->started = false;
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

static void
fuReScanForeignScan(ForeignScanState *node)
{
	FuScanState *fss = (FuScanState *) node->fdw_state;

	/* parameters that only feed local filters do not change the requests */
	bool		same = !bms_overlap(node->ss.ps.chgParam, fss->param_ids);

	if (!fss->built)
		return;
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
		return;
	}
	restart(fss, node);
}

static void
fuEndForeignScan(ForeignScanState *node)
{
	FuScanState *fss = (FuScanState *) node->fdw_state;

	if (fss == NULL)
		return;
	if (fss->store)
		tuplestore_end(fss->store);
	if (fss->store_slot)
		ExecDropSingleTupleTableSlot(fss->store_slot);
	/* releases curl handles and buffers through the batch's callback */
	MemoryContextDelete(fss->scan.scan_cxt);
	node->fdw_state = NULL;
}

static void
fuExplainForeignScan(ForeignScanState *node, ExplainState *es)
{
	FuScanState *fss = (FuScanState *) node->fdw_state;
	FuScan	   *scan = &fss->scan;
	ListCell   *lc;

	if (!es->verbose)
		return;
	if (!fss->built && !scan->explain_only)
		build_requests(fss, node->ss.ps.ps_ExprContext, true);
	ExplainPropertyText("API", scan->source->api, es);
	foreach(lc, scan->requests)
	{
		FuRequest  *req = (FuRequest *) lfirst(lc);
		const char *body = req->first_body ? req->first_body : "";
		int			len = strlen(body);

		/* a batch of 500 metric queries is long: show its start */
		if (len > FU_EXPLAIN_BODY_MAX)
			body = psprintf("%.*s... (%d bytes)",
							pg_mbcliplen(body, len, FU_EXPLAIN_BODY_MAX),
							body, len);
		ExplainPropertyText(req->explain_tag ?
							psprintf("Request (%s)", req->explain_tag) : "Request",
							psprintf("%s %s %s", req->http.method,
									 req->http.url, body),
							es);
	}
	if (scan->requests == NIL && !scan->unbound)
		ExplainPropertyText("Note",
							"no request is needed: the conditions exclude every row",
							es);
	if (scan->unbound)
		ExplainPropertyText("Note",
							"some values come from parameters bound when the scan starts; the request is shown without them",
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
	if (es->analyze)
		ExplainPropertyInteger("Billable calls made", NULL, scan->calls, es);
}

static List *
fuImportForeignSchema(ImportForeignSchemaStmt *stmt, Oid serverOid)
{
	return fu_import_schema(stmt, serverOid);
}

DateADT
fu_today_date(void)
{
	if (fu_today && fu_today[0])
		return DatumGetDateADT(DirectFunctionCall1(date_in,
												   CStringGetDatum(fu_today)));
	/* today in UTC, whatever the session's TimeZone */
	{
		TimestampTz now = GetCurrentTransactionStartTimestamp();

		return (DateADT) (now / USECS_PER_DAY);
	}
}

Datum
finops_usage_handler(PG_FUNCTION_ARGS)
{
	FdwRoutine *routine = makeNode(FdwRoutine);

	routine->GetForeignRelSize = fuGetForeignRelSize;
	routine->GetForeignPaths = fuGetForeignPaths;
	routine->GetForeignPlan = fuGetForeignPlan;
	routine->BeginForeignScan = fuBeginForeignScan;
	routine->IterateForeignScan = fuIterateForeignScan;
	routine->ReScanForeignScan = fuReScanForeignScan;
	routine->EndForeignScan = fuEndForeignScan;
	routine->ExplainForeignScan = fuExplainForeignScan;
	routine->ImportForeignSchema = fuImportForeignSchema;
	PG_RETURN_POINTER(routine);
}
