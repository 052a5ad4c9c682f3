/*-------------------------------------------------------------------------
 *
 * provider.c
 *		  The Azure provider: its tables, options and credential providers,
 *		  and what Azure's answers mean (throttled, with Cost Management's
 *		  own retry-after headers; transient; an expired token; failed) and
 *		  how their errors read.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "azure.h"
#include "catalog/pg_foreign_server.h"
#include "catalog/pg_user_mapping.h"
#include "json.h"

extern const FuSource fu_source_azure_usage;
extern const FuSource fu_source_azure_metrics;
extern const FuSource fu_source_azure_focus;

static const FuSource *const azure_sources[] = {
	&fu_source_azure_usage,
	&fu_source_azure_metrics,
	&fu_source_azure_focus,
	NULL
};

/* Columns of the narrow azure_usage tables, besides their one dimension */
#define AZURE_USAGE_NARROW(dim) \
	(const char *const[]) {"usage_date", "granularity", "cost_type", dim, \
		"cost", "cost_usd", "usage_quantity", "currency", NULL}

static const FuImportTable azure_imports[] = {
	{"azure_usage", "azure_usage", NULL},
	{"azure_usage_by_service", "azure_usage", AZURE_USAGE_NARROW("service_name")},
	{"azure_usage_by_resource_group", "azure_usage", AZURE_USAGE_NARROW("resource_group")},
	{"azure_usage_by_subscription", "azure_usage", AZURE_USAGE_NARROW("subscription_id")},
	{"azure_metrics", "azure_metrics", NULL},
	{"azure_focus", "azure_focus", NULL},
	{NULL, NULL, NULL}
};

/* A Cost Management scope: subscriptions/..., providers/..., no "//" */
static void
check_scope(const char *name, const char *value)
{
	const char *p = value[0] == '/' ? value + 1 : value;

	if ((strncmp(p, "subscriptions/", 14) != 0 && strncmp(p, "providers/", 10) != 0) ||
		strstr(p, "//") != NULL || strpbrk(p, "?#%\\ \t\r\n") != NULL ||
		p[strlen(p) - 1] == '/')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for option \"%s\": \"%s\"", name, value),
				 errhint("A Cost Management scope is a path such as /subscriptions/<id>, /subscriptions/<id>/resourceGroups/<name> or /providers/Microsoft.Billing/billingAccounts/<id>.")));
}

static const FuOptionDef azure_options[] = {
	{"scope", ForeignServerRelationId, false, check_scope},
	{"subscription_id", ForeignServerRelationId, false, fu_azure_check_guid},
	/* names other providers may share: checked when used (credentials.c) */
	{"tenant_id", UserMappingRelationId, false, NULL},
	{"client_id", UserMappingRelationId, false, NULL},
	{"client_secret", UserMappingRelationId, false, NULL},
	{"access_token", UserMappingRelationId, false, fu_azure_check_secret},
	{NULL, InvalidOid, false, NULL}
};

/* The last resort: no method applies, say which ones there are */
static bool
none_applies(const FuAuth *auth)
{
	return true;
}

static void
none_obtain(const FuAuth *auth, FuCredential *cred)
{
	ereport(ERROR,
			(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
			 errmsg("no Azure credentials for server \"%s\"", auth->server->servername),
			 errhint("Set tenant_id, client_id and client_secret (or access_token) in the user mapping; a superuser may allow use_server_credentials (AZURE_* of the database server).")));
}

static const FuCredentialProvider no_credentials = {
	.name = "none",
	.applies = none_applies,
	.obtain = none_obtain,
};

static const FuCredentialProvider *const azure_credentials[] = {
	&fu_azure_access_token,
	&fu_azure_client_secret,
	&fu_azure_server_credentials,
	&no_credentials,
	NULL
};

/* The subscription of the server: subscription_id, or scope's */
char *
fu_azure_subscription(ForeignServer *server)
{
	char	   *s = fu_get_option(server->options, "subscription_id");
	char	   *scope = fu_get_option(server->options, "scope");

	if (s == NULL && scope)
	{
		const char *p = strstr(scope, "subscriptions/");

		if (p)
		{
			s = pstrdup(p + 14);
			s[strcspn(s, "/")] = '\0';
		}
	}
	if (s == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
				 errmsg("server \"%s\" has no subscription_id", server->servername),
				 errhint("Set the subscription_id option of the server.")));
	return s;
}

static void
azure_authorize(FuRequest *req, const FuCredential *cred)
{
	if (cred)
		req->http.headers = lappend(req->http.headers,
									psprintf("Authorization: Bearer %s",
											 ((AzureToken *) cred->data)->access_token));
}

/* ---------- answers ---------- */

/*
 * {"error": {"code", "message"}}, or the older top-level {"code",
 * "message"} some metrics versions send
 */
void
fu_azure_error(FuRequest *req, char **code, char **message)
{
	static const char *const keys[] = {"error.code|code", "error.message|message", NULL};
	char	   *v[2] = {NULL, NULL};

	if (req->http.resp)
		fu_json_get_strings(req->http.resp, req->http.resp_len, keys, v);
	*code = v[0];
	*message = v[1];
}

/*
 * Cost Management names its own delays, one per limit it applies (query
 * processing units, entity, tenant, client): wait for the longest, and for
 * Retry-After.
 */
static int
retry_after_ms(FuRequest *req)
{
	static const char *const limits[] = {"qpu", "entity", "tenant", "client", NULL};
	int			ms = fu_retry_after_ms(req, "Retry-After");

	for (const char *const *l = limits; *l; l++)
		ms = Max(ms, fu_retry_after_ms(req,
									   psprintf("x-ms-ratelimit-microsoft.costmanagement-%s-retry-after", *l)));
	return ms;
}

static FuVerdict
azure_classify(FuRequest *req, int *delay_ms)
{
	long		status = req->http.status;

	if (req->scan == NULL)
		return fu_azure_classify_token(req, delay_ms);
	if (status >= 200 && status < 300)
		return FU_VERDICT_OK;
	*delay_ms = retry_after_ms(req);
	if (status == 401)
		return FU_VERDICT_EXPIRED;
	if (status == 429)
		return FU_VERDICT_THROTTLED;
	if (status == 500 || status == 502 || status == 503 || status == 504)
		return FU_VERDICT_TRANSIENT;
	return FU_VERDICT_FAILED;
}

static void pg_attribute_noreturn()
azure_report_error(FuRequest *req, const FuCredential *cred)
{
	List	   *secrets = cred ? cred->secrets : NIL;
	char	   *code;
	char	   *message;
	const char *hint = NULL;

	fu_azure_error(req, &code, &message);
	code = fu_redact(fu_api_text(code), secrets);
	message = fu_redact(fu_api_text(message), secrets);
	if (req->verdict == FU_VERDICT_THROTTLED)
		hint = psprintf("The request was throttled %d times in a row; run the query later or raise finops_usage.max_retries.",
						req->http.throttles);
	else if (req->verdict == FU_VERDICT_EXPIRED)
		hint = cred && strcmp(cred->method, fu_azure_access_token.name) == 0 ?
			"Azure rejected the access_token of the user mapping: it may have expired or be for another audience; set a new one, or use client credentials." :
			"Azure rejected the access token even after it was renewed.";
	else if (req->http.status == 403)
		hint = psprintf("The credentials (%s) lack a role this table needs (Cost Management Reader, Monitoring Reader or Reader on the scope).",
						cred ? cred->identity : "none");

	if (code == NULL && message == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("%s returned HTTP status %ld", req->label, req->http.status),
				 errdetail("The response body is not an Azure error document.")));
	ereport(ERROR,
			(errcode(ERRCODE_FDW_ERROR),
			 errmsg("%s returned HTTP status %ld: %s", req->label, req->http.status,
					code ? code : "?"),
			 message ? errdetail("%s", message) : 0,
			 hint ? errhint("%s", hint) : 0));
}

const FuProvider fu_provider_azure = {
	.name = "azure",
	.sources = azure_sources,
	.imports = azure_imports,
	.options = azure_options,
	.credentials = azure_credentials,
	.authorize = azure_authorize,
	.classify = azure_classify,
	.report_error = azure_report_error,
	.docs = fu_azure_docs,
};
