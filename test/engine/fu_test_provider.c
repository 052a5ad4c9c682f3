/*-------------------------------------------------------------------------
 *
 * fu_test_provider.c
 *		  A provider for testing the engine of finops_usage, built outside
 *		  it (as PostgreSQL's src/test/modules are): provider "test" over
 *		  the emulator's engine test service (/_test/ in test/emulator).
 *
 * It uses the provider API only (provider.h), as a cloud provider does,
 * and exercises what no AWS table needs: a bearer token from an OAuth
 * client-credentials endpoint (cached, refreshed, renewed after a 401),
 * paging by a token in the query string, in the body, by next links, and
 * polling an asynchronous job, and Retry-After delays.
 *
 * Loaded after finops_usage (whose symbols it uses):
 *		LOAD 'finops_usage'; LOAD 'fu_test_provider';
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "catalog/pg_user_mapping.h"
#include "fmgr.h"
#include "json.h"
#include "provider.h"
#include "utils/builtins.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/* ---------- credentials: OAuth 2.0 client credentials ---------- */

typedef struct TestToken
{
	char	   *token;
} TestToken;

static bool
token_applies(const FuAuth *auth)
{
	return true;
}

static char *
token_describe(const FuAuth *auth)
{
	return psprintf("test client credentials of %s",
					fu_auth_option(auth, "client_id"));
}

static void
token_obtain(const FuAuth *auth, FuCredential *cred)
{
	static const char *const keys[] = {"access_token", "expires_in", "error", NULL};
	char	   *client = fu_auth_option(auth, "client_id");
	char	   *secret = fu_auth_option(auth, "client_secret");
	char	   *body;
	char	   *vals[3];
	FuRequest  *req;
	TestToken  *t;

	if (client == NULL || secret == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
				 errmsg("the user mapping for server \"%s\" needs client_id and client_secret",
						auth->server->servername)));
	body = psprintf("grant_type=client_credentials&client_id=%s&client_secret=%s",
					fu_url_encode(client), fu_url_encode(secret));
	req = fu_auth_request(auth, "test token endpoint", "POST",
						  fu_base_url(auth->server, "test.invalid"), "_test/token");
	fu_request_body(req, "application/x-www-form-urlencoded", body, strlen(body));
	if (fu_auth_send(auth, req, NULL) != FU_VERDICT_OK ||
		!fu_json_get_strings(req->http.resp, req->http.resp_len, keys, vals) ||
		vals[0] == NULL || vals[1] == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
				 errmsg("could not obtain a token for server \"%s\"",
						auth->server->servername),
				 errdetail("HTTP %ld: %s", req->http.status,
						   fu_redact(fu_api_text(req->http.resp),
									 list_make1(secret)))));

	t = MemoryContextAlloc(auth->cxt, sizeof(TestToken));
	t->token = MemoryContextStrdup(auth->cxt, vals[0]);
	cred->data = t;
	cred->identity = MemoryContextStrdup(auth->cxt, client);
	{
		/* the list lives as long as the credential */
		MemoryContext old = MemoryContextSwitchTo(auth->cxt);

		cred->secrets = list_make2(t->token, pstrdup(secret));
		MemoryContextSwitchTo(old);
	}
	cred->expires = GetCurrentTimestamp() + atol(vals[1]) * USECS_PER_SEC;
}

static const FuCredentialProvider client_credentials = {
	.name = "test client credentials",
	.applies = token_applies,
	.obtain = token_obtain,
	.describe = token_describe,
};

static void
test_authorize(FuRequest *req, const FuCredential *cred)
{
	if (cred)
		req->http.headers = lappend(req->http.headers,
									psprintf("Authorization: Bearer %s",
											 ((TestToken *) cred->data)->token));
}

/* ---------- answers ---------- */

static FuVerdict
test_classify(FuRequest *req, int *retry_after_ms)
{
	long		status = req->http.status;

	if (status >= 200 && status < 300)
		return FU_VERDICT_OK;
	if (status == 401)
		return FU_VERDICT_EXPIRED;
	if (status == 429)
	{
		/* a provider-specific header in milliseconds, else Retry-After */
		char	   *ms = fu_response_header(req, "x-test-retry-after-ms");

		*retry_after_ms = ms ? atoi(ms) : fu_retry_after_ms(req, "Retry-After");
		return FU_VERDICT_THROTTLED;
	}
	if (status >= 500)
		return FU_VERDICT_TRANSIENT;
	return FU_VERDICT_FAILED;
}

static void pg_attribute_noreturn()
test_report_error(FuRequest *req, const FuCredential *cred)
{
	static const char *const keys[] = {"error", "message", NULL};
	char	   *vals[2] = {NULL, NULL};

	fu_json_get_strings(req->http.resp, req->http.resp_len, keys, vals);
	ereport(ERROR,
			(errcode(ERRCODE_FDW_ERROR),
			 errmsg("%s returned HTTP status %ld: %s", req->label,
					req->http.status, vals[0] ? fu_api_text(vals[0]) : "?"),
			 vals[1] ? errdetail("%s", fu_api_text(vals[1])) : 0));
}

/* ---------- the test_items source ---------- */

enum
{
	COL_STYLE,
	COL_TOTAL,
	COL_SIZE,
	COL_POLLS,
	COL_N,
	COL_PAGE,
	NUM_COLS
};

static const char *const styles[] = {
	"query", "body", "link", "link_host", "link_port", "link_scheme", "job", NULL
};

static const FuColumn item_columns[NUM_COLS] = {
	{"style", TEXTOID, FU_OPS_EQ, FU_COL_PER_VALUE, styles},
	{"total", INT4OID, FU_OPS_EQ, FU_COL_PER_VALUE},
	{"size", INT4OID, FU_OPS_EQ, FU_COL_PER_VALUE},
	{"polls", INT4OID, FU_OPS_EQ, FU_COL_PER_VALUE},
	{"n", INT4OID, 0},
	{"page", INT4OID, 0},
};

typedef struct ItemsState
{
	/* current page */
	int		   *items;
	int			nitems;
	int			maxitems;
	int			page;
	int			cur;
	char	   *job_id;
	bool		incomplete;
	char	   *next_token;
	char	   *next_link;
} ItemsState;

static FuPushdown
items_classify_qual(const FuSource *src, const FuQual *q)
{
	return q->valtype == src->columns[q->col].type ? FU_PUSH_EXACT : FU_PUSH_NONE;
}

static List *
items_plan(FuPlanInfo *pi)
{
	pi->rows = 5;
	pi->calls = 3;
	return NIL;
}

static void
items_begin(FuScan *scan)
{
	ItemsState *st = palloc0(sizeof(ItemsState));
	char	   *style = "query";
	int			vals[3] = {5, 2, 0};	/* total, size, polls */
	char	   *base = fu_base_url(scan->server, "test.invalid");
	ListCell   *lc;
	FuRequest  *req;

	scan->pstate = st;
	foreach(lc, scan->quals)
	{
		FuQual	   *q = (FuQual *) lfirst(lc);

		if (!q->known || q->placeholder)
			continue;
		if (q->col == COL_STYLE)
			style = fu_qual_text(q->value);
		else
			vals[q->col - COL_TOTAL] = DatumGetInt32(q->value);
	}
	fu_scan_fix(scan, COL_STYLE, CStringGetTextDatum(style));
	for (int i = 0; i < 3; i++)
		fu_scan_fix(scan, COL_TOTAL + i, Int32GetDatum(vals[i]));

	if (strcmp(style, "body") == 0 || strcmp(style, "job") == 0)
	{
		bool		job = style[0] == 'j';
		char	   *body = job ?
			psprintf("{\"total\":%d,\"size\":%d,\"polls\":%d}", vals[0], vals[1], vals[2]) :
			psprintf("{\"total\":%d,\"size\":%d}", vals[0], vals[1]);

		req = fu_request_new(scan, job ? "test job" : "test items", "POST", base,
							 job ? "_test/jobs" : "_test/items");
		fu_request_body(req, "application/json", body, strlen(body));
	}
	else
	{
		req = fu_request_new(scan, "test items", "GET", base, "_test/items");
		fu_request_param(req, "total", psprintf("%d", vals[0]));
		fu_request_param(req, "size", psprintf("%d", vals[1]));
		if (strncmp(style, "link", 4) == 0)
			fu_request_param(req, "link", style[4] ? style + 5 : "same");
	}
}

/* {"items":[{"n":1}],"nextPageToken":"..","nextLink":"..","jobId":"..","complete":false} */
enum
{
	F_items, F_n, F_nextPageToken, F_nextLink, F_jobId, F_complete
};
static const char *const item_names[] = {
	"items", "n", "nextPageToken", "nextLink", "jobId", "complete", NULL
};

static void
items_scalar(void *arg, FuJsonWalk *w, char *token, FuJsonToken type)
{
	ItemsState *st = (ItemsState *) arg;

	if (w->depth == 1)
	{
		if (fu_walk_at(w, 1, F_nextPageToken) && type == FU_JSON_STRING)
			st->next_token = token;
		else if (fu_walk_at(w, 1, F_nextLink) && type == FU_JSON_STRING)
			st->next_link = token;
		else if (fu_walk_at(w, 1, F_jobId) && type == FU_JSON_STRING)
			st->job_id = token;
		else if (fu_walk_at(w, 1, F_complete))
			st->incomplete = (type == FU_JSON_FALSE);
	}
	else if (w->depth == 3 && fu_walk_at(w, 1, F_items) && fu_walk_at(w, 3, F_n))
	{
		if (type != FU_JSON_NUMBER)
			fu_walk_malformed(w, "An item's n is not a number.");
		st->items = fu_grow(st->items, st->nitems, &st->maxitems, sizeof(int));
		st->items[st->nitems++] = atoi(token);
	}
}

static const FuJsonHandlers item_handlers = {
	.names = item_names,
	.scalar = items_scalar,
};

static void
items_parse_page(FuScan *scan, FuRequest *req, char *body, size_t len)
{
	ItemsState *st = (ItemsState *) scan->pstate;

	st->items = NULL;
	st->nitems = st->maxitems = st->cur = 0;
	st->next_token = st->next_link = st->job_id = NULL;
	st->incomplete = false;
	st->page = req->pages + 1;
	fu_parse_json_events(req->label, body, len, &item_handlers, st);

	if (st->incomplete && st->job_id)
		fu_next_poll(req, "GET",
					 psprintf("%s_test/jobs/%s", req->base_url, st->job_id), 10);
	else if (st->next_link)
		fu_next_link(req, st->next_link);
	else if (st->next_token && strcmp(req->method, "POST") == 0)
		fu_next_body_token(req, "pageToken", st->next_token);
	else if (st->next_token)
		fu_next_query_token(req, "pageToken", st->next_token);
}

static bool
items_next_row(FuScan *scan, Datum *values, bool *nulls)
{
	ItemsState *st = (ItemsState *) scan->pstate;

	if (st->cur >= st->nitems)
		return false;
	values[COL_N] = Int32GetDatum(st->items[st->cur++]);
	nulls[COL_N] = false;
	values[COL_PAGE] = Int32GetDatum(st->page);
	nulls[COL_PAGE] = false;
	return true;
}

static const FuSource test_items = {
	.name = "test_items",
	.api = "the engine test service",
	.columns = item_columns,
	.ncolumns = NUM_COLS,
	.paged = true,
	.classify_qual = items_classify_qual,
	.plan = items_plan,
	.begin = items_begin,
	.parse_page = items_parse_page,
	.next_row = items_next_row,
};

/* ---------- the provider ---------- */

static const FuSource *const test_sources[] = {&test_items, NULL};

static const FuImportTable test_imports[] = {
	{"test_items", "test_items", NULL},
	{NULL, NULL, NULL}
};

static const FuOptionDef test_options[] = {
	{"client_id", UserMappingRelationId, false, NULL},
	{"client_secret", UserMappingRelationId, false, NULL},
	{NULL, InvalidOid, false, NULL}
};

static const FuCredentialProvider *const test_credentials[] = {
	&client_credentials, NULL
};

static const FuProvider test_provider = {
	.name = "test",
	.sources = test_sources,
	.imports = test_imports,
	.options = test_options,
	.credentials = test_credentials,
	.authorize = test_authorize,
	.classify = test_classify,
	.report_error = test_report_error,
};

void
_PG_init(void)
{
	fu_register_provider(&test_provider);
}
