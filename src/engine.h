/*-------------------------------------------------------------------------
 *
 * engine.h
 *		  Declarations private to the engine of finops_usage: planning,
 *		  scan execution, sending requests, credentials, EXPLAIN, IMPORT.
 *
 * Providers include provider.h only.
 *
 *-------------------------------------------------------------------------
 */
#ifndef FU_ENGINE_H
#define FU_ENGINE_H

#include "access/tupdesc.h"
#include "executor/tuptable.h"
#include "nodes/execnodes.h"
#include "utils/tuplestore.h"

#include "provider.h"

/* guc.c */
extern int	fu_max_billable_calls;
extern int	fu_connect_timeout_ms;
extern int	fu_request_timeout_ms;
extern int	fu_max_response_kb;
extern int	fu_max_retries;
extern int	fu_retry_base_ms;
extern int	fu_retry_max_ms;
extern int	fu_max_concurrency;
extern char *fu_today;
extern int	fu_cache_ttl;
extern int	fu_cache_ttl_final;
extern int	fu_cache_size_mb;
extern void fu_http_settings(FuHttpSettings *settings);

/* providers.c */
extern const FuProvider *fu_provider_at(int n);
extern const FuProvider *fu_find_provider(const char *name);
extern const FuSource *fu_find_source(const FuProvider *provider,
									  const char *name);
extern const char *fu_closest_source(const FuProvider *provider,
									 const char *name);
extern char *fu_provider_list(void);
extern const FuOptionDef *fu_find_option(const FuProvider *provider,
										 const char *name, Oid catalog);
extern const FuProvider *fu_option_owner(const char *name, Oid catalog);

/* option.c */
extern const FuProvider *fu_server_provider(ForeignServer *server);
extern void fu_check_mapping_options(const FuProvider *provider,
									 ForeignServer *server, UserMapping *user);
extern bool fu_mapping_allows_server_credentials(UserMapping *user);

/* quals.c */
extern const char *fu_op_name(FuOp op);
extern FuQual *fu_recognise_qual(RestrictInfo *rinfo, RelOptInfo *baserel,
								 const int *attr_to_col, Relids outer);
extern void fu_decide_pushdown(const FuSource *src, FuQual *q);
extern void fu_bind_quals(const FuSource *src, List *quals, List *exprstates,
						  ExprContext *econtext, bool allow_params);
extern bool fu_quals_unchanged(const FuSource *src, List *quals,
							   List *exprstates, ExprContext *econtext);
extern void fu_check_closed_values(FuScan *scan);
extern bool fu_qual_matches_nothing(FuQual *q);

/*
 * Indexes of fdw_private of a ForeignScan.  The list must stay copyable:
 * String, Integer and List nodes only.
 */
/* One path's plan: its quals and what the source made of them */
typedef struct FuPathPlan
{
	List	   *quals;			/* FuQual *, pushdown decided */
	List	   *source_plan;	/* the source's plan output */
	Bitmapset  *needed;
	double		fetched;		/* rows one scan fetches */
	double		rows;			/* per scan, after local filters */
	int			calls;
	FuPlanInfo *refusal;		/* non-NULL: the source refused */
} FuPathPlan;

/* Planner state kept in baserel->fdw_private */
typedef struct FuRelInfo
{
	const FuSource *source;
	ForeignTable *table;
	ForeignServer *server;
	int		   *attr_to_col;
	int			natts;
	Bitmapset  *declared;		/* source columns the table has */
	List	   *base_quals;		/* FuQual * of baserestrictinfo, decided */
	List	   *base_other;		/* RestrictInfo * not recognised or pushed */
	List	   *paths;			/* FuPathPlan *; paths hold their index */
} FuRelInfo;

enum FuScanPrivateIndex
{
	FuPrivSource,				/* String: source name */
	FuPrivQuals,				/* List of [col, op, valtype, pushdown, join] */
	FuPrivNeeded,				/* List of Integer: needed source columns */
	FuPrivProvider,				/* List: the source's plan */
	FuPrivUpper					/* List of [kind, col, type]: aggregates */
};

/* plan.c */
extern FuPathPlan *fu_plan_path(PlannerInfo *root, RelOptInfo *baserel,
								FuRelInfo *fpinfo, List *join_quals,
								List *other_joins);
extern Bitmapset *fu_columns_used(List *exprs, Index relid, FuRelInfo *fpinfo);
extern void fuGetForeignUpperPaths(PlannerInfo *root, UpperRelationKind stage,
								   RelOptInfo *input_rel, RelOptInfo *output_rel,
								   void *extra);
extern ForeignScan *fu_upper_plan(PlannerInfo *root, RelOptInfo *upperrel,
								  ForeignPath *best_path, List *tlist,
								  Plan *outer_plan);
extern bool fu_aggregate_pushdown;
extern const char *fu_upper_text(List *upper, const FuSource *src);
extern const FuSource *fu_resolve_table(Relation rel, ForeignServer *server,
										ForeignTable *table,
										int **attr_to_col);
extern void fuGetForeignRelSize(PlannerInfo *root, RelOptInfo *baserel,
								Oid foreigntableid);
extern void fuGetForeignPaths(PlannerInfo *root, RelOptInfo *baserel,
							  Oid foreigntableid);
extern ForeignScan *fuGetForeignPlan(PlannerInfo *root, RelOptInfo *baserel,
									 Oid foreigntableid, ForeignPath *best_path,
									 List *tlist, List *scan_clauses,
									 Plan *outer_plan);

/* request.c: sending requests and receiving their answers */
typedef struct FuSender
{
	const FuProvider *provider;
	ForeignServer *server;
	UserMapping *user;
	MemoryContext cxt;			/* the batch and its responses live here */
	FuHttpBatch *batch;			/* made at the first send */
	char	   *ca_file;
	List	   *ready;			/* FuRequest * answered by the cache */
	char	   *cache_identity; /* see cache.c; made at first use */
} FuSender;

extern void fu_sender_init(FuSender *sender, const FuProvider *provider,
						   ForeignServer *server, UserMapping *user,
						   MemoryContext cxt);
extern void fu_send(FuSender *sender, FuRequest *req);
extern FuRequest *fu_receive(FuSender *sender);
extern void fu_request_errcontext(ErrorContextCallback *cb, FuRequest *req);
extern FuRequest *fu_request_create(MemoryContext cxt, FuScan *scan,
									const FuProvider *provider,
									const char *label, const char *method,
									const char *base_url, const char *path);
extern char *fu_request_explain(FuRequest *req);

/* cache.c: answers shared by every connection */
extern bool fu_cache_enabled(void);
extern bool fu_cache_get(FuSender *sender, FuRequest *req);
extern bool fu_cache_probe(FuSender *sender, FuRequest *req);
typedef struct FuCacheKey
{
	char	   *key;			/* identity, method, URL, body */
	char	   *path;			/* the entry's file */
} FuCacheKey;
extern FuCacheKey *fu_cache_key(FuSender *sender, FuRequest *req);
extern void fu_cache_put(FuCacheKey *key, FuRequest *req, const char *body,
						 size_t len, bool final);
extern void fu_send_cached(FuSender *sender, FuRequest *req);
extern bool fu_cache_claim(FuSender *sender, FuRequest *req);
extern void fu_cache_trim(void);
extern void fu_cache_release(FuRequest *req);

/* stats.c: API spend, counted across connections, per server */
typedef struct FuStats
{
	int64		calls;			/* HTTP exchanges, retries included */
	int64		pages;			/* answers parsed */
	int64		bytes;			/* response bytes received */
	int64		retries;
	int64		throttled;
	int64		errors;			/* requests that ended in an error */
	int64		cache_hits;
	int64		cache_misses;
	int64		cost_pico;		/* list-price USD, in 10^-12 */
} FuStats;

extern void fu_stats_add(Oid serverid, const FuStats *delta);
extern void fu_stats_flush(void);
extern void fu_stats_init(void);
extern int64 fu_stats_pico(double usd);

/* auth.c */
extern const FuCredential *fu_auth_get(const FuProvider *provider,
									   ForeignServer *server, UserMapping *user,
									   const FuCredential *stale,
									   const char *audience);
extern char *fu_auth_describe(const FuProvider *provider, ForeignServer *server,
							  UserMapping *user);
extern Oid	fu_mapping_oid(Oid userid, Oid serverid);
extern char *fu_auth_principal(const FuProvider *provider,
							   ForeignServer *server, UserMapping *user);
extern const FuCredential *fu_auth_cached(ForeignServer *server,
										  UserMapping *user);

/* scan.c */
typedef struct FuScanState
{
	FuScan		scan;
	int		   *attr_to_col;
	int			natts;
	List	   *exprstates;		/* values of scan.quals */
	Datum	   *values;			/* one row, by source column */
	bool	   *nulls;
	MemoryContext row_cxt;		/* reset for every row */
	FuSender	sender;			/* lives in scan.req_cxt */
	bool		built;			/* requests built from the current values */
	Bitmapset  *param_ids;		/* PARAM_EXEC params the pushed values use */
	bool		started;
	bool		rows_out;		/* a row was returned since the (re)start */
	bool		page_ready;		/* a parsed page has rows left */
	bool		eof;
	Tuplestorestate *store;		/* rows kept for rescans (REWIND) */
	TupleTableSlot *store_slot; /* reads store (minimal tuples) */
	bool		replay;			/* serve a rescan from store */
	List	   *kept;			/* KeptPage *: response pages, for rescans */
	Size		kept_bytes;
	bool		keep;			/* kept still holds every page so far */
	int			next_kept;		/* next kept page to serve */
	FuRequest  *page_req;		/* response the current page's rows point into */
	int			eflags;
} FuScanState;

extern void fuBeginForeignScan(ForeignScanState *node, int eflags);
extern TupleTableSlot *fuIterateForeignScan(ForeignScanState *node);
extern void fuReScanForeignScan(ForeignScanState *node);
extern void fuEndForeignScan(ForeignScanState *node);
extern void fu_build_requests(FuScanState *fss, ExprContext *econtext,
							  bool display);

/* explain.c */
extern void fuExplainForeignScan(ForeignScanState *node, ExplainState *es);

/* import.c */
extern List *fuImportForeignSchema(ImportForeignSchemaStmt *stmt,
								   Oid serverOid);

#endif							/* FU_ENGINE_H */
