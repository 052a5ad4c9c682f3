/*-------------------------------------------------------------------------
 *
 * provider.c
 *		  The Google Cloud provider: its tables, options and credential
 *		  providers, and what Google's answers mean (throttled, transient,
 *		  expired token, failed) and how their errors read.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_foreign_server.h"
#include "catalog/pg_user_mapping.h"
#include "gcp.h"
#include "json.h"

extern const FuSource fu_source_gcp_metrics;
extern const FuSource fu_source_gcp_cost;
extern const FuSource fu_source_gcp_focus;

static const FuSource *const gcp_sources[] = {
	&fu_source_gcp_metrics,
	&fu_source_gcp_cost,
	&fu_source_gcp_focus,
	NULL
};

static const FuImportTable gcp_imports[] = {
	{"gcp_metrics", "gcp_metrics", NULL},
	{"gcp_cost", "gcp_cost", NULL},
	{"gcp_focus", "gcp_focus", NULL},
	{NULL, NULL, NULL}
};

/* A project id: lower-case letters, digits and hyphens (old ones: domain:id) */
bool
fu_gcp_valid_project(const char *s)
{
	size_t		len = strlen(s);

	if (len < 4 || len > 63)
		return false;
	/* "domain.com:project" ids of old projects are valid too */
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
			  *p == '-' || *p == '.' || *p == ':'))
			return false;
	return true;
}

static void
check_project(const char *name, const char *value)
{
	if (!fu_gcp_valid_project(value))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for option \"%s\": \"%s\"", name, value),
				 errhint("A Google Cloud project id has lower-case letters, digits and hyphens, such as \"my-project-123\".")));
}

/* project.dataset.table, each part a plain BigQuery identifier */
static void
check_billing_table(const char *name, const char *value)
{
	char	   *copy = pstrdup(value);
	char	   *dot1 = strchr(copy, '.');
	char	   *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
	bool		ok = dot1 && dot2 && strchr(dot2 + 1, '.') == NULL;

	if (ok)
	{
		*dot1 = *dot2 = '\0';
		ok = fu_gcp_valid_project(copy) && dot1[1] && dot2[1];
		for (const char *p = dot1 + 1; ok && *p; p++)
			ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
				(*p >= '0' && *p <= '9') || *p == '_';
		for (const char *p = dot2 + 1; ok && *p; p++)
			ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
				(*p >= '0' && *p <= '9') || *p == '_' || *p == '-';
	}
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for option \"%s\": \"%s\"", name, value),
				 errhint("Name the billing export table as project.dataset.table, such as \"my-billing.billing_export.gcp_billing_export_v1_01AB23_CD45EF_6789AB\".")));
}

static const FuOptionDef gcp_options[] = {
	{"project_id", ForeignServerRelationId, false, check_project},
	{"billing_table", ForeignServerRelationId, false, check_billing_table},
	{"service_account_key", UserMappingRelationId, false, fu_gcp_check_key},
	{"access_token", UserMappingRelationId, false, fu_gcp_check_token},
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
			 errmsg("no Google Cloud credentials for server \"%s\"",
					auth->server->servername),
			 errhint("Set service_account_key (the key file's JSON) or access_token in the user mapping; a superuser may allow use_server_credentials (GOOGLE_APPLICATION_CREDENTIALS of the database server).")));
}

static const FuCredentialProvider no_credentials = {
	.name = "none",
	.applies = none_applies,
	.obtain = none_obtain,
};

static const FuCredentialProvider *const gcp_credentials[] = {
	&fu_gcp_access_token,
	&fu_gcp_service_account,
	&fu_gcp_server_credentials,
	&no_credentials,
	NULL
};

/* The server's project (gcp_metrics: unless a qual names others) */
char *
fu_gcp_project(ForeignServer *server)
{
	char	   *p = fu_get_option(server->options, "project_id");

	if (p == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
				 errmsg("server \"%s\" has no project_id", server->servername),
				 errhint("Set the project_id option of the server, or compare project_id in the query.")));
	return p;
}

static void
gcp_authorize(FuRequest *req, const FuCredential *cred)
{
	if (cred)
		req->http.headers = lappend(req->http.headers,
									psprintf("Authorization: Bearer %s",
											 ((GcpToken *) cred->data)->access_token));
}

/* ---------- answers ---------- */

/*
 * The parts of Google's error envelope: {"error": {"code", "message",
 * "status", "errors": [{"reason"}], "details": [{"reason"}]}}.  BigQuery
 * names the reason in errors[], the other APIs in an ErrorInfo detail.
 */
void
fu_gcp_error(FuRequest *req, char **status, char **reason, char **message)
{
	static const char *const keys[] = {
		"error.status", "error.errors.0.reason|error.details.0.reason",
		"error.message", NULL
	};
	char	   *vals[3] = {NULL, NULL, NULL};

	if (req->http.resp)
		fu_json_get_strings(req->http.resp, req->http.resp_len, keys, vals);
	*status = vals[0];
	*reason = vals[1];
	*message = vals[2];
}

static bool
str_in(const char *s, const char *const *list)
{
	for (; s && *list; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

static FuVerdict
gcp_classify(FuRequest *req, int *retry_after_ms)
{
	static const char *const throttles[] = {
		"rateLimitExceeded", "userRateLimitExceeded", "jobRateLimitExceeded",
		"RATE_LIMIT_EXCEEDED", NULL
	};
	static const char *const transients[] = {
		"backendError", "internalError", NULL
	};
	long		status = req->http.status;
	char	   *gstatus;
	char	   *reason;
	char	   *message;

	if (req->scan == NULL)
		return fu_gcp_classify_token(req, retry_after_ms);
	if (status >= 200 && status < 300)
		return FU_VERDICT_OK;
	/* Google sends no Retry-After, but a proxy in front of it may */
	*retry_after_ms = fu_retry_after_ms(req, "Retry-After");
	if (status == 401)
		return FU_VERDICT_EXPIRED;
	fu_gcp_error(req, &gstatus, &reason, &message);
	if (status == 429 || str_in(reason, throttles))
		return FU_VERDICT_THROTTLED;
	if (str_in(reason, transients) ||
		status == 500 || status == 502 || status == 503 || status == 504)
		return FU_VERDICT_TRANSIENT;
	return FU_VERDICT_FAILED;
}

static void pg_attribute_noreturn()
gcp_report_error(FuRequest *req, const FuCredential *cred)
{
	List	   *secrets = cred ? cred->secrets : NIL;
	long		status = req->http.status;
	char	   *gstatus;
	char	   *reason;
	char	   *message;
	const char *hint = NULL;

	fu_gcp_error(req, &gstatus, &reason, &message);
	gstatus = fu_redact(fu_api_text(gstatus), secrets);
	reason = fu_redact(fu_api_text(reason), secrets);
	message = fu_redact(fu_api_text(message), secrets);

	if (req->verdict == FU_VERDICT_THROTTLED)
		hint = psprintf("The request was throttled %d times in a row; run the query later or raise finops_usage.max_retries.",
						req->http.throttles);
	else if (req->verdict == FU_VERDICT_EXPIRED)
		hint = cred && strcmp(cred->method, fu_gcp_access_token.name) == 0 ?
			"Google rejected the access_token of the user mapping: it may have expired; set a new one, or use service_account_key." :
			"Google rejected the access token even after it was renewed.";
	else if (status == 403 && (gstatus == NULL || strcmp(gstatus, "PERMISSION_DENIED") == 0))
		hint = psprintf("The credentials (%s) lack a permission this table needs (monitoring.timeSeries.list, bigquery.jobs.create and bigquery.tables.getData on the billing table).",
						cred ? cred->identity : "none");

	if (gstatus == NULL && message == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("%s returned HTTP status %ld", req->label, status),
				 errdetail("The response body is not a Google error document.")));
	ereport(ERROR,
			(errcode(ERRCODE_FDW_ERROR),
			 errmsg("%s returned HTTP status %ld: %s", req->label, status,
					reason ? psprintf("%s (%s)", gstatus ? gstatus : "?", reason) :
					(gstatus ? gstatus : "?")),
			 message ? errdetail("%s", message) : 0,
			 hint ? errhint("%s", hint) : 0));
}

const FuProvider fu_provider_gcp = {
	.name = "gcp",
	.sources = gcp_sources,
	.imports = gcp_imports,
	.options = gcp_options,
	.credentials = gcp_credentials,
	.authorize = gcp_authorize,
	.classify = gcp_classify,
	.report_error = gcp_report_error,
	.docs = fu_gcp_docs,
};
