/*-------------------------------------------------------------------------
 *
 * provider.h
 *		  The provider API of finops_usage: what a cloud provider declares
 *		  and implements, and the engine services it may call.
 *
 * A provider (src/aws/, ...) declares its foreign-table "sources" (columns,
 * which quals push down), the tables IMPORT FOREIGN SCHEMA creates, its
 * server and user-mapping options, and its credential providers.  It
 * implements four things: build the requests of a scan from bound quals,
 * parse a response page into rows, obtain credentials, and authorize and
 * classify HTTP exchanges.  Everything else (planning, paging, concurrency,
 * retries, credential caching, EXPLAIN) is the engine's, and no engine file
 * knows any provider's wire format.
 *
 * A new provider is a folder that defines one FuProvider, plus a line in
 * providers.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef FU_PROVIDER_H
#define FU_PROVIDER_H

#include "commands/explain.h"
#include "foreign/foreign.h"
#include "lib/stringinfo.h"
#include "nodes/pathnodes.h"
#include "utils/date.h"
#include "utils/timestamp.h"

#include "http.h"
#include "jsonwalk.h"

struct FuSource;
struct FuProvider;
struct FuScan;

/* ----------------------------------------------------------------
 * Columns and quals
 * ----------------------------------------------------------------
 */

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
	FU_OP_NOT_IN,				/* col <> ALL (array) */
	FU_OP_PREFIX				/* col LIKE 'prefix%': value is the prefix */
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

/*
 * Column flags.  FU_COL_PER_VALUE: the rows exist for the values a query
 * asks for (a forecast per service, metrics per region or statistic);
 * without a qual the column is NULL (the total) or its default.  A join on
 * such a column must therefore pass its values in (a parameterized scan):
 * reading the default rows and joining them would lose the others.
 */
#define FU_COL_PER_VALUE	0x01

/* A column of a source, as the contract (SPEC §3) names it */
typedef struct FuColumn
{
	const char *name;
	Oid			type;
	int			pushable_ops;	/* FU_OPMASK bits */
	int			flags;			/* FU_COL_* */

	/*
	 * A closed set of values (NULL-terminated), and a test of further valid
	 * forms with their description (NULL: none), both on the value's text
	 * form, whatever the column's type.  A pushed =, <>, IN or NOT IN with
	 * any other value is an ERROR before anything is sent; a join's value
	 * matches nothing.
	 */
	const char *const *values;
	bool		(*valid_value) (const char *value);
	const char *value_forms;	/* "a percentile such as p99" */
} FuColumn;

/*
 * A qual the engine recognised: "col op value", where value does not refer
 * to the foreign table and is computed when the scan starts (a constant, a
 * parameter, now(), or another relation's column in a parameterized scan).
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
	bool		join;			/* the value comes from another relation */
	bool		known;			/* value could be computed */
	bool		placeholder;	/* EXPLAIN: an open text value shown as "?" */
	bool		excluded;		/* a join's value outside the closed set */
	bool		isnull;			/* scalar value is NULL, or array is NULL */
	Datum		value;			/* scalar value */
	int			nelems;			/* IN / NOT IN elements */
	Datum	   *elems;
	bool	   *elemnulls;
} FuQual;

/* quals.c */
extern FuQual *fu_find_qual(List *quals, int col, FuOp op);
extern bool fu_has_qual_on(List *quals, int col);
extern char *fu_qual_text(Datum d);
extern List *fu_qual_strings(FuQual *q);
extern List *fu_intersect_strings(List *have, bool *constrained, List *more);
extern bool fu_string_member(List *l, const char *s);

/* ----------------------------------------------------------------
 * Aggregate pushdown
 * ----------------------------------------------------------------
 */

/* An output column of an aggregate path: a grouping key or an aggregate */
typedef enum FuUpperKind
{
	FU_UPPER_GROUP,				/* GROUP BY col */
	FU_UPPER_GROUP_MONTH,		/* GROUP BY date_trunc('month', col): the
								 * source gives the month's first day as a
								 * date, the engine converts it */
	FU_UPPER_GROUP_UTC_DAY,		/* GROUP BY (col AT TIME ZONE 'UTC')::date of
								 * a timestamptz column: the source gives
								 * the date */
	FU_UPPER_COUNT_STAR,		/* count(*) */
	FU_UPPER_COUNT,				/* count(col) */
	FU_UPPER_SUM,
	FU_UPPER_MIN,
	FU_UPPER_MAX,
	FU_UPPER_AVG
} FuUpperKind;

typedef struct FuUpperItem
{
	FuUpperKind kind;
	int			col;			/* source column; -1 for count(*) */
	Oid			type;			/* the value's type as the query sees it */
} FuUpperItem;

#define FU_UPPER_IS_GROUP(it) \
	((it)->kind == FU_UPPER_GROUP || (it)->kind == FU_UPPER_GROUP_MONTH || \
	 (it)->kind == FU_UPPER_GROUP_UTC_DAY)

extern const char *fu_upper_name(FuUpperKind kind);

/* ----------------------------------------------------------------
 * Planning
 * ----------------------------------------------------------------
 */

/* Plan-time view handed to a source, once per path */
typedef struct FuPlanInfo
{
	const struct FuSource *source;
	PlannerInfo *root;
	RelOptInfo *baserel;
	ForeignTable *table;
	ForeignServer *server;
	List	   *quals;			/* FuQual *, pushdown decided; join quals of
								 * a parameterized path included */
	Bitmapset  *needed;			/* source columns the query must see */
	Bitmapset  *declared;		/* source columns the table declares */

	/*
	 * An aggregate path: its output (FuUpperItem *), grouping keys first;
	 * NIL for a scan.  Every qual is pushed exactly.
	 */
	List	   *upper;

	/* the source's answers */
	double		rows;			/* rows of one scan */
	int			calls;			/* billable calls of one scan */

	/* a refusal: this path cannot answer the query (see fu_plan_refuse) */
	int			refusal_code;
	char	   *refusal_message;
	char	   *refusal_detail;
	char	   *refusal_hint;
} FuPlanInfo;

/*
 * A source cannot serve the query on this path (too many dimensions, no
 * filter to list metrics by).  Another path may (a join that supplies the
 * missing value); if none can, the engine raises this error.
 */
extern void fu_plan_refuse(FuPlanInfo *pi, int sqlerrcode, const char *message,
						   const char *detail, const char *hint);

/* ----------------------------------------------------------------
 * Requests
 * ----------------------------------------------------------------
 */

/* What a provider says about an HTTP response */
typedef enum FuVerdict
{
	FU_VERDICT_OK,
	FU_VERDICT_THROTTLED,		/* retry after backing off */
	FU_VERDICT_TRANSIENT,		/* retry */
	FU_VERDICT_EXPIRED,			/* the credentials expired: refresh once */
	FU_VERDICT_FAILED			/* permanent */
} FuVerdict;

/* How the next page of a request is asked for (set by the page parser) */
typedef enum FuNextPage
{
	FU_NEXT_NONE,				/* the request is complete */
	FU_NEXT_BODY_TOKEN,			/* same body, plus a token member */
	FU_NEXT_QUERY_TOKEN,		/* same URL, plus a token parameter */
	FU_NEXT_LINK,				/* the URL the response gave */
	FU_NEXT_POLL				/* an asynchronous job: ask again later */
} FuNextPage;

/*
 * One API call of a scan (or of a credential provider), with its pages.
 * The provider builds it with fu_request_* and may set the fields of the
 * first group (label, explain_tag, scope, discovery, billable,
 * pdata); the engine owns the rest.
 */
typedef struct FuRequest
{
	struct FuScan *scan;		/* NULL: a credential provider's request */
	const struct FuProvider *provider;
	char	   *label;			/* names the call in messages */
	const char *explain_tag;	/* EXPLAIN shows "Request (tag)" when set */
	const char *scope;			/* how the provider authorizes it (AWS: the
								 * SigV4 "service/region") */
	const char *audience;		/* the credentials it needs, when a provider
								 * has several (an OAuth scope); NULL: the
								 * default ones */
	bool		discovery;		/* its pages give no rows, only requests */
	bool		billable;		/* counts against max_billable_calls */
	double		price;			/* USD per page the API answers; < 0: the
								 * source's call_price when billable */
	double		page_cost;		/* set by parse_page: USD the page's answer
								 * says it cost (BigQuery's bytes billed) */
	bool		page_final;		/* set by parse_page: every row of the page
								 * is final (cached for cache_ttl_final) */
	const char *cache_body;		/* the body as the result cache keys it,
								 * when the body sent has a part that
								 * differs every time (a request id) */
	void	   *pdata;			/* the provider's */

	/* the request as sent: see fu_request_url() */
	const char *method;
	char	   *base_url;		/* scheme://host[:port][/prefix]/ */
	char	   *path;			/* below base_url, without leading '/' */
	List	   *query;			/* FuParam *, in order */
	List	   *headers;		/* char * "Name: value", every attempt */
	const char *content_type;
	char	   *body;
	size_t		body_len;
	char	   *first_body;		/* for EXPLAIN and body-token paging */

	/* ---- the engine's ---- */
	char	   *url;			/* assembled URL (NULL: not yet) */
	char	   *first_url;		/* before paging changed it, for EXPLAIN */
	char	   *first_method;
	FuNextPage	next;			/* what the last page asked for */
	int			next_delay_ms;	/* before the next attempt (polling) */
	char	   *last_token;		/* the token of the page being asked for */
	List	   *tokens;			/* every token so far: a repeat is a loop */
	int			pages;			/* pages received */
	bool		done;
	bool		in_flight;
	bool		from_cache;		/* the answer came from the result cache */
	int			cache_lock;		/* fd holding the claim to fetch its page
								 * for every connection, or -1 */
	bool		auth_retried;	/* refreshed its credentials once already */
	FuVerdict	verdict;		/* the provider's word on the last answer */
	const struct FuCredential *cred;
	MemoryContext attempt_cxt;	/* headers and signature of the last attempt */
	MemoryContext next_cxt;		/* URL and body of the next page */
	FuHttpRequest http;			/* the exchange, and its last response */
} FuRequest;

typedef struct FuParam
{
	char	   *name;
	char	   *value;
} FuParam;

/* request.c: building a request (in the scan's request context) */
extern FuRequest *fu_request_new(struct FuScan *scan, const char *label,
								 const char *method, const char *base_url,
								 const char *path);
extern void fu_request_param(FuRequest *req, const char *name,
							 const char *value);
extern void fu_request_header(FuRequest *req, const char *name,
							  const char *value);
extern void fu_request_body(FuRequest *req, const char *content_type,
							const char *body, size_t len);
extern char *fu_request_url(FuRequest *req);
extern char *fu_base_url(ForeignServer *server, const char *host);
extern char *fu_url_encode(const char *s);

/* request.c: paging, called by a page parser */
extern void fu_next_body_token(FuRequest *req, const char *member,
							   const char *token);
extern void fu_next_query_token(FuRequest *req, const char *param,
								const char *token);
extern void fu_next_link(FuRequest *req, const char *url);
extern void fu_next_poll(FuRequest *req, const char *method, const char *url,
						 int delay_ms);
extern void fu_next_page(FuRequest *req, const char *method, const char *url,
						 const char *token);

/* request.c: reading a response, for classify and report_error */
extern char *fu_response_header(FuRequest *req, const char *name);
extern int	fu_retry_after_ms(FuRequest *req, const char *header);


/* ----------------------------------------------------------------
 * Credentials
 * ----------------------------------------------------------------
 */

/*
 * Credentials of a server and user mapping, as a
 * credential provider obtained them.  The engine caches them per backend
 * until they expire (refreshing them when less than five minutes remain)
 * or the server or user mapping changes.
 */
typedef struct FuCredential
{
	const char *method;			/* the credential provider's name */
	char	   *identity;		/* who, for messages; never a secret */
	TimestampTz expires;		/* DT_NOEND: never */
	List	   *secrets;		/* char *: removed from provider messages */
	void	   *data;			/* the provider's (keys, a token) */
} FuCredential;

/* What a credential provider is asked to authenticate */
typedef struct FuAuth
{
	const struct FuProvider *provider;
	ForeignServer *server;
	UserMapping *user;
	const char *audience;		/* the requests' audience; NULL: default */
	MemoryContext cxt;			/* where the credential's data must live */
} FuAuth;

typedef struct FuCredentialProvider
{
	const char *name;			/* "AWS AssumeRole" */
	/* does the user mapping ask for this method? */
	bool		(*applies) (const FuAuth *auth);
	/* fill cred (allocating in auth->cxt); may call fu_auth_send */
	void		(*obtain) (const FuAuth *auth, FuCredential *cred);
	/* for EXPLAIN (VERBOSE), without a network call; NULL: nothing shown */
	char	   *(*describe) (const FuAuth *auth);

	/*
	 * Who the credentials are, without a network call, when the options do
	 * not say it all (the server's environment or files): the result
	 * cache keeps identities apart by it.  NULL: the options say it all.
	 */
	char	   *(*principal) (const FuAuth *auth);
} FuCredentialProvider;

/* auth.c: services for credential providers */
extern FuRequest *fu_auth_request(const FuAuth *auth, const char *label,
								  const char *method, const char *base_url,
								  const char *path);
extern FuVerdict fu_auth_send(const FuAuth *auth, FuRequest *req,
							  const FuCredential *signer);
extern char *fu_auth_option(const FuAuth *auth, const char *name);
extern bool fu_auth_server_credentials(const FuAuth *auth);

/* ----------------------------------------------------------------
 * Scans
 * ----------------------------------------------------------------
 */

/* Execution state, shared by the engine and the source */
typedef struct FuScan
{
	const struct FuSource *source;
	const struct FuProvider *provider;
	ForeignServer *server;
	UserMapping *user;
	Relation	rel;
	List	   *quals;			/* FuQual *, bound */
	List	   *plan_private;	/* the source's plan output */
	Bitmapset  *needed;			/* source columns the query must see */
	List	   *upper;			/* aggregate scan: FuUpperItem *, see
								 * FuPlanInfo; next_row then fills
								 * values[i] for item i */
	bool		explain_only;
	bool		unbound;		/* some qual values were unknown (EXPLAIN) */
	bool		replaying;		/* parsing a kept page again */
	int			page_index;		/* of the page parse_page is given, in its
								 * request (polls not counted) */

	List	   *requests;		/* FuRequest * in sending order */
	int			calls;			/* billable calls made so far */
	int			cache_hits;		/* pages answered by the result cache */
	double		spend;			/* USD of the pages fetched (list prices) */
	int			est_calls;		/* billable requests (EXPLAIN's "at least") */
	Datum	   *fixed_values;	/* fu_scan_fix's, by column */
	int		   *fixed_cols;		/* the columns fixed */
	int			nfixed;

	MemoryContext scan_cxt;		/* lives as long as the scan */
	MemoryContext req_cxt;		/* requests of one set of parameter values */
	MemoryContext page_cxt;		/* reset for every page */
	void	   *pstate;			/* the source's state */
} FuScan;

/*
 * scan.c: a value every row of the scan has in col (an "=" qual's, or what
 * the request settles, such as a default).  Called from begin; the engine
 * fills it in before each next_row, which may overwrite it.
 */
extern void fu_scan_fix(FuScan *scan, int col, Datum value);

/* A foreign-table source: one API, one set of columns */
typedef struct FuSource
{
	const char *name;			/* default table name, e.g. "aws_cost" */
	const char *api;			/* "AWS Cost Explorer GetCostAndUsage" */
	const FuColumn *columns;
	int			ncolumns;
	double		call_price;		/* USD per billable call, for EXPLAIN */
	bool		paged;			/* responses may come in several pages */

	/* plan time: push down this qual?  Only called for pushable ops. */
	FuPushdown	(*classify_qual) (const struct FuSource *src, const FuQual *qual);
	/* plan time, per path: estimates and the request shape, as a copyable List */
	List	   *(*plan) (FuPlanInfo *pi);

	/*
	 * plan time: does the API compute pi->upper exactly as PostgreSQL
	 * would from the rows?  Then plan() is asked for the estimates of that
	 * aggregate path.  NULL: no aggregate is pushed.
	 */
	bool		(*aggregates) (FuPlanInfo *pi);
	/* scan start: fill scan->requests from bound quals; no network */
	void		(*begin) (FuScan *scan);

	/*
	 * Parse one page into the source's page state, in place (body[len] is
	 * writable), and say how the next page is asked for (fu_next_*).
	 */
	void		(*parse_page) (FuScan *scan, FuRequest *req,
							   char *body, size_t len);
	/* next row of the current page into values/nulls (source columns) */
	bool		(*next_row) (FuScan *scan, Datum *values, bool *nulls);
	/* extra EXPLAIN lines */
	void		(*explain) (FuScan *scan, ExplainState *es);

	/* a source computed from another's rows (see FuDerived); else NULL */
	const struct FuDerived *derived;

	/* what its columns mean, whatever the provider (see FuDoc); or NULL */
	const struct FuDoc *docs;
} FuSource;

/* ----------------------------------------------------------------
 * Derived sources (derived.c)
 * ----------------------------------------------------------------
 */

/*
 * A source whose rows are another ("inner") source's rows at a fixed
 * grain, each mapped to new columns: the FOCUS tables over the cost
 * tables.  Its FuSource sets .derived and the fu_derived_* callbacks; the
 * inner source builds the requests and parses the pages.
 */
typedef struct FuDerivedColumn
{
	/*
	 * The inner column whose quals are this column's: the same values, or
	 * the same instants when this column is a timestamptz and the inner one
	 * a date (midnight UTC; such quals are rechecked).  NULL: none.  A
	 * pushable column without one is only checked against its closed set
	 * and rechecked.
	 */
	const char *qual_column;
	int			reads;			/* bit i: computed from input i */
} FuDerivedColumn;

typedef struct FuDerived
{
	const FuSource *inner;
	const char *const *inputs;	/* inner columns derive reads, NULL-ended */
	const char *const *grain;	/* the inner columns a scan declares: the
								 * grain, whatever a query reads */
	const FuDerivedColumn *columns; /* by column of the derived source */
	/* a row from the inner row's inputs (in[i] is input i) */
	void		(*derive) (FuScan *scan, const Datum *in, const bool *innulls,
						   Datum *values, bool *nulls);
} FuDerived;

extern FuPushdown fu_derived_classify_qual(const FuSource *src, const FuQual *q);
extern List *fu_derived_plan(FuPlanInfo *pi);
extern void fu_derived_begin(FuScan *scan);
extern void fu_derived_parse_page(FuScan *scan, FuRequest *req, char *body,
								  size_t len);
extern bool fu_derived_next_row(FuScan *scan, Datum *values, bool *nulls);
extern void fu_derived_explain(FuScan *scan, ExplainState *es);

/* the callbacks of a derived source */
#define FU_DERIVED_CALLBACKS \
	.classify_qual = fu_derived_classify_qual, \
	.plan = fu_derived_plan, \
	.begin = fu_derived_begin, \
	.parse_page = fu_derived_parse_page, \
	.next_row = fu_derived_next_row, \
	.explain = fu_derived_explain

/* A table IMPORT FOREIGN SCHEMA creates */
typedef struct FuImportTable
{
	const char *name;
	const char *source;
	const char *const *columns; /* NULL: every column of the source */
} FuImportTable;

/*
 * What a table or column means (and its unit), for the COMMENTs left on
 * the tables IMPORT FOREIGN SCHEMA creates; the engine adds which quals
 * push down and the closed set of values.  Looked up by the imported
 * table's name, then its source's, then table NULL (any table).
 */
typedef struct FuDoc
{
	const char *table;			/* table or source name; NULL: any */
	const char *column;			/* NULL: the table itself */
	const char *text;			/* sentences; NULL ends the list */
} FuDoc;

/* An option of servers or user mappings */
typedef struct FuOptionDef
{
	const char *name;
	Oid			catalog;		/* ForeignServerRelationId, ... */
	bool		superuser_only;
	/* raise an ERROR for an invalid value; NULL: any text */
	void		(*check) (const char *name, const char *value);
} FuOptionDef;

typedef struct FuProvider
{
	const char *name;			/* "aws": the server's provider option and
								 * the schema IMPORT FOREIGN SCHEMA takes */
	const FuSource *const *sources;
	const FuImportTable *imports;
	const FuOptionDef *options; /* ends with a NULL name */
	/* tried in order: the first that applies obtains the credentials */
	const FuCredentialProvider *const *credentials;

	/* before every attempt: headers and signature (attempt's context) */
	void		(*authorize) (FuRequest *req, const FuCredential *cred);

	/*
	 * After every attempt that got an HTTP answer.  *retry_after_ms may be
	 * set to the delay the server asked for.
	 */
	FuVerdict	(*classify) (FuRequest *req, int *retry_after_ms);
	/*
	 * Raise the error of a response: one classify called FAILED, or any
	 * other but OK once retries (or the refresh) are used up.  Must not
	 * return.
	 */
	void		(*report_error) (FuRequest *req, const FuCredential *cred) pg_attribute_noreturn();

	/*
	 * availability(): make one free call authenticated with cred and return
	 * who the API says the caller is (an ERROR when it refuses).  NULL:
	 * obtaining the credentials (a token request) is the check.
	 */
	char	   *(*verify) (const FuAuth *auth, const FuCredential *cred);

	/* what its tables and columns mean (see FuDoc) */
	const FuDoc *docs;
} FuProvider;

/* providers.c */
extern void fu_register_provider(const FuProvider *provider);

/* ----------------------------------------------------------------
 * Helpers for sources
 * ----------------------------------------------------------------
 */

/* period.c */
extern DateADT fu_today_date(void);
extern int64 fu_now_epoch(void);
extern DateADT fu_month_floor(DateADT d);
extern DateADT fu_add_months(DateADT d, int n);
extern DateADT fu_month_ceil(DateADT d);
extern char *fu_date_text(DateADT d);
extern char *fu_epoch_text(int64 e);
extern bool fu_parse_date(const char *s, DateADT *d);
extern bool fu_parse_timestamptz(const char *s, TimestampTz *t);
extern void fu_narrow_window(FuQual *q, bool end_column, bool monthly,
							 DateADT *lo, DateADT *hi);
extern double fu_qual_epoch(FuQual *q);
extern TimestampTz fu_epoch_timestamptz(double epoch);

/*
 * Room for element n of an array of a page that doubles as it grows (in
 * the current memory context): the array, moved if need be.
 */
static inline void *
fu_grow(void *array, int n, int *max, Size elem_size)
{
	if (n < *max)
		return array;
	*max = *max ? *max * 2 : 64;
	return array ? repalloc(array, elem_size * *max) :
		palloc(elem_size * *max);
}

/* values.c */
extern Datum fu_text_datum(const char *s);
extern Datum fu_numeric_datum(const char *s, const char *column);

/* message.c: text in messages (provider text longer than this is cut) */
#define FU_API_TEXT_MAX		400
extern char *fu_api_text(const char *s);
extern char *fu_redact(const char *s, List *secrets);
extern char *fu_word_list(List *words, const char *conjunction);
extern const char *fu_closest_match(const char *name, List *candidates);

/* option.c */
extern char *fu_get_option(List *options, const char *name);
extern bool fu_valid_region(const char *s);
extern List *fu_split_list(const char *list);

#endif							/* FU_PROVIDER_H */
