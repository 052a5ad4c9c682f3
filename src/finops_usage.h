/*-------------------------------------------------------------------------
 *
 * finops_usage.h
 *		  Shared declarations of the finops_usage foreign data wrapper.
 *
 * The engine (fdw.c, quals.c, http.c, option.c, import.c) is generic: it
 * knows nothing about any cloud.  Each provider module describes its
 * foreign-table "sources" with an FuSource: the columns, which quals it can
 * push down, and how to turn bound quals into HTTP requests and response
 * pages into rows.
 *
 *-------------------------------------------------------------------------
 */
#ifndef FINOPS_USAGE_H
#define FINOPS_USAGE_H

#include "fmgr.h"
#include "commands/explain.h"
#include "foreign/foreign.h"
#include "lib/stringinfo.h"
#include "nodes/pathnodes.h"
#include "utils/date.h"
#include "utils/memutils.h"

#include "http.h"

/* GUCs (option.c) */
extern int	fu_max_billable_calls;
extern int	fu_connect_timeout_ms;
extern int	fu_request_timeout_ms;
extern int	fu_max_response_kb;
extern int	fu_max_retries;
extern int	fu_retry_base_ms;
extern int	fu_retry_max_ms;
extern int	fu_max_concurrency;
extern char *fu_today;

/* Operators the engine recognises in quals */
typedef enum FuOp
{
	FU_OP_EQ,
	FU_OP_NE,
	FU_OP_LT,
	FU_OP_LE,
	FU_OP_GT,
	FU_OP_GE,
	FU_OP_IN,					/* col = ANY (array) */
	FU_OP_NOT_IN				/* col <> ALL (array) */
} FuOp;

#define FU_OPMASK(op)	(1 << (op))
#define FU_OPS_EQ		FU_OPMASK(FU_OP_EQ)
#define FU_OPS_SET		(FU_OPMASK(FU_OP_EQ) | FU_OPMASK(FU_OP_IN))
#define FU_OPS_SET_NEG	(FU_OPS_SET | FU_OPMASK(FU_OP_NE) | FU_OPMASK(FU_OP_NOT_IN))
#define FU_OPS_RANGE	(FU_OPMASK(FU_OP_EQ) | FU_OPMASK(FU_OP_LT) | \
						 FU_OPMASK(FU_OP_LE) | FU_OPMASK(FU_OP_GT) | \
						 FU_OPMASK(FU_OP_GE))

/* What a provider does with a qual */
typedef enum FuPushdown
{
	FU_PUSH_NONE,				/* evaluated locally only */
	FU_PUSH_EXACT,				/* the provider enforces it exactly */
	FU_PUSH_RECHECK				/* narrows the request; rechecked locally */
} FuPushdown;

/* A column of a source, as the contract (SPEC §3) names it */
typedef struct FuColumn
{
	const char *name;
	Oid			type;
	int			pushable_ops;	/* FU_OPMASK bits */
} FuColumn;

/*
 * A qual the engine recognised: "col op value" where value does not refer
 * to the foreign table and is evaluated when the scan starts.
 */
typedef struct FuQual
{
	int			col;			/* source column index */
	FuOp		op;
	Oid			valtype;		/* value type (element type for IN/NOT IN) */
	Expr	   *valexpr;		/* value expression (plan time only) */
	RestrictInfo *rinfo;		/* plan time only */
	FuPushdown	pushdown;		/* the provider's decision */

	/* bound when the scan starts */
	bool		known;			/* value could be computed */
	bool		isnull;			/* scalar value is NULL, or array is NULL */
	Datum		value;			/* scalar value */
	int			nelems;			/* IN / NOT IN elements */
	Datum	   *elems;
	bool	   *elemnulls;
} FuQual;

/* Plan-time view handed to a provider */
typedef struct FuPlanInfo
{
	const struct FuSource *source;
	PlannerInfo *root;
	RelOptInfo *baserel;
	ForeignTable *table;
	ForeignServer *server;
	List	   *quals;			/* FuQual *, pushdown already decided */
	Bitmapset  *needed;			/* source columns the query must see */
	List	   *unpushed;		/* FuQual * of "col op value" form, not pushed */
	double		rows;			/* provider's row estimate (output) */
	int			calls;			/* provider's billable-call estimate (output) */
} FuPlanInfo;

/* One API call a scan will make (each may have several pages) */
typedef struct FuRequest
{
	struct FuScan *scan;
	char	   *label;			/* names the call in messages */
	const char *explain_tag;	/* EXPLAIN shows "Request (tag)" when set */
	FuHttpRequest http;			/* method, url, body of the next page */
	char	   *first_body;		/* body of the first page, for EXPLAIN */
	int			pages;			/* pages fetched so far */
	bool		done;
	bool		in_flight;
	bool		discovery;		/* its pages give no rows, only more requests */
	MemoryContext attempt_cxt;	/* headers and signature of the last attempt */
	MemoryContext body_cxt;		/* body of the next page */
	void	   *pdata;			/* provider data */
} FuRequest;

/* Execution state, shared by the engine and the provider */
typedef struct FuScan
{
	const struct FuSource *source;
	ForeignServer *server;
	UserMapping *user;
	Relation	rel;
	List	   *quals;			/* FuQual *, bound */
	List	   *plan_private;	/* the provider's plan output */
	Bitmapset  *needed;			/* source columns the query must see */
	bool		explain_only;
	bool		unbound;		/* some qual values were unknown (EXPLAIN) */
	bool		replaying;		/* parsing a kept page again */

	List	   *requests;		/* FuRequest * in sending order */
	int			calls;			/* billable calls made so far */
	int			est_calls;		/* estimated billable calls */

	MemoryContext scan_cxt;		/* lives as long as the scan */
	MemoryContext req_cxt;		/* requests of one set of parameter values */
	MemoryContext page_cxt;		/* reset for every page */
	void	   *pstate;			/* provider state */
} FuScan;

/* What a provider says about a finished HTTP response */
typedef enum FuVerdict
{
	FU_VERDICT_OK,
	FU_VERDICT_THROTTLED,		/* retry after backing off */
	FU_VERDICT_TRANSIENT,		/* retry */
	FU_VERDICT_FAILED			/* permanent: report_error raises */
} FuVerdict;

typedef struct FuSource
{
	const char *name;			/* default table name, e.g. "aws_cost" */
	const char *provider;		/* "aws", "gcp", "azure" */
	const char *api;			/* "AWS Cost Explorer GetCostAndUsage" */
	const FuColumn *columns;
	int			ncolumns;
	double		call_price;		/* USD per billable call, for EXPLAIN */
	bool		paged;			/* responses may come in several pages */

	/* plan time: push down this qual?  Only called for pushable ops. */
	FuPushdown	(*classify_qual) (const struct FuSource *src, const FuQual *qual);
	/* plan time: the request shape, as a copyable List; may raise */
	List	   *(*plan) (FuPlanInfo *pi);
	/* scan start: fill scan->requests from bound quals; no network */
	void		(*begin) (FuScan *scan);
	/* just before each attempt: headers, signature */
	void		(*prepare) (FuScan *scan, FuRequest *req);
	/* classify a response; report_error must not return */
	FuVerdict	(*check) (FuScan *scan, FuRequest *req);
	void		(*report_error) (FuScan *scan, FuRequest *req) pg_attribute_noreturn();
	/*
	 * parse one page into the provider's page state, in place (body[len] is
	 * writable); true if more pages
	 */
	bool		(*parse_page) (FuScan *scan, FuRequest *req,
							   char *body, size_t len);
	/* next row of the current page into values/nulls (source columns) */
	bool		(*next_row) (FuScan *scan, Datum *values, bool *nulls);
	/* extra EXPLAIN lines */
	void		(*explain) (FuScan *scan, ExplainState *es);
} FuSource;

/* A table IMPORT FOREIGN SCHEMA creates */
typedef struct FuImportTable
{
	const char *name;
	const char *source;
	const char *const *columns; /* NULL: every column of the source */
} FuImportTable;

typedef struct FuProvider
{
	const char *name;
	const FuSource *const *sources;
	const FuImportTable *imports;
} FuProvider;

/* providers.c */
extern const FuProvider *fu_find_provider(const char *name);
extern const FuSource *fu_find_source(const char *name);
extern const char *fu_closest_source(const char *name);

/* option.c */
extern char *fu_get_option(List *options, const char *name);
extern const char *fu_server_provider(ForeignServer *server);
extern const char *fu_closest_match(const char *name, const char *const *candidates);
extern bool fu_valid_region(const char *s);
extern List *fu_split_list(const char *list);

/* quals.c */
extern List *fu_extract_quals(PlannerInfo *root, RelOptInfo *baserel,
							  const FuSource *src, const int *attr_to_col,
							  List **other_conds, List **unpushed);
extern bool fu_has_qual_on(List *quals, int col);
extern void fu_bind_quals(List *quals, List *exprstates, ExprContext *econtext,
						  bool allow_params);
extern const char *fu_op_name(FuOp op);
extern char *fu_qual_text(Datum d);
extern void fu_append_json_values(StringInfo buf, FuQual *q);
extern bool fu_qual_matches_nothing(FuQual *q);

/* period.c */
extern DateADT fu_month_floor(DateADT d);
extern DateADT fu_add_months(DateADT d, int n);
extern DateADT fu_month_ceil(DateADT d);
extern char *fu_date_text(DateADT d);
extern bool fu_parse_date(const char *s, DateADT *d);
extern void fu_narrow_window(FuQual *q, bool end_column, bool monthly,
							 DateADT *lo, DateADT *hi);
extern FuQual *fu_find_qual(List *quals, int col, FuOp op);

/* fdw.c: helpers for providers */
extern FuRequest *fu_add_request(FuScan *scan, const char *label,
								 const char *method, const char *url,
								 const char *body);
extern DateADT fu_today_date(void);
extern void fu_check_billable(FuScan *scan, int more);
extern void fu_next_page_body(FuRequest *req, const char *field,
							  const char *token);

/* jsonwalk.c: the position of an event JSON parser */
#define FU_WALK_MAX_DEPTH 16
#define FU_WALK_HASH_SIZE 64	/* holds up to 32 field names */
typedef struct FuJsonWalk
{
	const char *api;			/* for error messages */
	const char *const *names;	/* the field names the handlers look for */
	int			name_lens[FU_WALK_HASH_SIZE / 2];
	int			slots[FU_WALK_HASH_SIZE];	/* open addressing: name index */
	const char *list;			/* the handlers' list field, or NULL */
	int			list_code;
	bool		list_seen;
	int			depth;			/* 1 is the top-level container */
	char	   *fields[FU_WALK_MAX_DEPTH];
	int			codes[FU_WALK_MAX_DEPTH];	/* index in names, or -1 */
	bool		arrays[FU_WALK_MAX_DEPTH];
} FuJsonWalk;

/*
 * Is level depth an object, now in the field names[code]?  Names are looked
 * up once per field, so the handlers' many tests are integer compares.
 */
static inline bool
fu_walk_at(const FuJsonWalk *w, int depth, int code)
{
	return depth <= w->depth && depth > 0 && !w->arrays[depth] &&
		w->codes[depth] == code;
}

extern void fu_walk_enter(FuJsonWalk *w, bool array);
extern void fu_walk_leave(FuJsonWalk *w);
extern void fu_walk_field(FuJsonWalk *w, char *fname, size_t len);
extern void fu_walk_malformed(FuJsonWalk *w, const char *detail) pg_attribute_noreturn();

/* handlers of fu_parse_json_events; the walk is already at the new level */
typedef struct FuJsonHandlers
{
	const char *const *names;	/* NULL-terminated; codes are their indexes */
	/*
	 * The top-level field whose array of objects holds the rows, if any: the
	 * scanner checks that shape and that the field is there.
	 */
	const char *list;
	void		(*object_start) (void *state, FuJsonWalk *w);
	void		(*object_end) (void *state, FuJsonWalk *w);
	void		(*array_start) (void *state, FuJsonWalk *w);
	void		(*scalar) (void *state, FuJsonWalk *w, char *token, int type);
} FuJsonHandlers;

extern void fu_parse_json_events(const char *api, char *body, size_t len,
								 const FuJsonHandlers *h, void *state);

/* values.c */
extern Datum fu_text_datum(const char *s);
extern void fu_check_utf8(const char *api, const char *body, size_t len);
extern Datum fu_numeric_datum(const char *s, const char *column);

/* import.c */
extern List *fu_import_schema(ImportForeignSchemaStmt *stmt, Oid serverOid);

#endif							/* FINOPS_USAGE_H */
