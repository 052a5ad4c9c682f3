/*-------------------------------------------------------------------------
 *
 * provider.c
 *		  The AWS provider: its tables, options and credential providers,
 *		  and what AWS answers mean (throttled, transient, expired
 *		  credentials, failed) and how their errors read.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "aws.h"
#include "catalog/pg_foreign_server.h"
#include "catalog/pg_user_mapping.h"
#include "json.h"

extern const FuSource fu_source_aws_cost;
extern const FuSource fu_source_aws_cost_forecast;
extern const FuSource fu_source_aws_cost_by_resource;
extern const FuSource fu_source_aws_metrics;
extern const FuSource fu_source_aws_focus;

static const FuSource *const aws_sources[] = {
	&fu_source_aws_cost,
	&fu_source_aws_cost_forecast,
	&fu_source_aws_metrics,
	&fu_source_aws_cost_by_resource,
	&fu_source_aws_focus,
	NULL
};

/* Columns of the narrow aws_cost tables, besides their one dimension */
#define AWS_COST_NARROW(dim) \
	(const char *const[]) {"period_start", "period_end", "granularity", dim, \
		"unblended_cost", "blended_cost", "amortized_cost", \
		"net_unblended_cost", "net_amortized_cost", "usage_quantity", \
		"normalized_usage_amount", "currency", "usage_unit", "estimated", NULL}

static const FuImportTable aws_imports[] = {
	{"aws_cost", "aws_cost", NULL},
	{"aws_cost_by_service", "aws_cost", AWS_COST_NARROW("service")},
	{"aws_cost_by_account", "aws_cost", AWS_COST_NARROW("linked_account")},
	{"aws_cost_by_region", "aws_cost", AWS_COST_NARROW("region")},
	{"aws_cost_by_usage_type", "aws_cost", AWS_COST_NARROW("usage_type")},
	{"aws_cost_forecast", "aws_cost_forecast", NULL},
	{"aws_metrics", "aws_metrics", NULL},
	{"aws_cost_by_resource", "aws_cost_by_resource", NULL},
	{"aws_focus", "aws_focus", NULL},
	{NULL, NULL, NULL}
};

static void
check_region(const char *name, const char *value)
{
	List	   *regions = fu_split_list(value);
	ListCell   *lc;

	foreach(lc, regions)
		if (!fu_valid_region((char *) lfirst(lc)))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid region \"%s\" in option \"%s\"",
							(char *) lfirst(lc), name),
					 errhint("Regions are lower-case names such as us-east-1 or eu-west-1, separated by commas.")));
	if (regions == NIL ||
		(strcmp(name, "region") == 0 && list_length(regions) > 1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for option \"%s\": \"%s\"", name, value)));
}

/* Keys go into headers: a line break would split the request */
static void
check_key_option(const char *name, const char *value)
{
	for (const unsigned char *p = (const unsigned char *) value; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid value for option \"%s\"", name),
					 errdetail("The value contains a control character (such as a line break).")));
}

static const FuOptionDef aws_options[] = {
	{"region", ForeignServerRelationId, false, check_region},
	{"regions", ForeignServerRelationId, false, check_region},
	{"access_key_id", UserMappingRelationId, false, check_key_option},
	{"secret_access_key", UserMappingRelationId, false, check_key_option},
	{"session_token", UserMappingRelationId, false, check_key_option},
	{"role_arn", UserMappingRelationId, false, fu_aws_check_role_arn},
	{"external_id", UserMappingRelationId, false, fu_aws_check_external_id},
	{"role_session_name", UserMappingRelationId, false, fu_aws_check_session_name},
	{"duration", UserMappingRelationId, false, fu_aws_check_duration},
	{NULL, InvalidOid, false, NULL}
};

static const FuCredentialProvider *const aws_credentials[] = {
	&fu_aws_assume_role,
	&fu_aws_static_keys,
	NULL
};

/* ---------- answers ---------- */

static bool
is_xml(FuRequest *req)
{
	const char *p = req->http.resp;

	while (p && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
		p++;
	return p && *p == '<';
}

/*
 * Error code and message of an AWS error answer: a JSON body (botocore's
 * rules for __type), or the Query protocol's XML ErrorResponse.
 */
void
fu_aws_error(FuRequest *req, char **code, char **message)
{
	static const char *const keys[] = {"__type|code|Code", "message|Message", NULL};
	static const char *const xml_code[] = {"ErrorResponse", "Error", "Code", NULL};
	static const char *const xml_message[] = {"ErrorResponse", "Error", "Message", NULL};
	char	   *vals[2];
	char	   *legacy;

	*code = NULL;
	*message = NULL;
	if (req->http.resp == NULL)
		return;
	if (is_xml(req))
	{
		*code = fu_aws_xml_text(req->http.resp, req->http.resp_len, xml_code);
		*message = fu_aws_xml_text(req->http.resp, req->http.resp_len, xml_message);
		return;
	}
	if (!fu_json_get_strings(req->http.resp, req->http.resp_len, keys, vals))
		return;
	if (vals[0])
	{
		char	   *c = vals[0];
		char	   *colon = strchr(c, ':');
		char	   *hash;

		if (colon)
			*colon = '\0';
		hash = strrchr(c, '#');
		*code = hash ? hash + 1 : c;
	}
	*message = vals[1];

	/*
	 * Query-compatible services (CloudWatch) name the legacy code, the one
	 * their documentation uses, in a header: "Throttling;Sender".
	 */
	legacy = fu_response_header(req, "x-amzn-query-error");
	if (legacy && legacy[0])
	{
		char	   *semi = strchr(legacy, ';');

		if (semi)
			*semi = '\0';
		*code = legacy;
	}
}

/* Is the error code (NULL: none) one of the list's? */
bool
fu_aws_code_in(const char *code, const char *const *list)
{
	for (; code && *list; list++)
		if (strcmp(code, *list) == 0)
			return true;
	return false;
}

/* botocore's standard retry mode, plus the codes of expired credentials */
static FuVerdict
aws_classify(FuRequest *req, int *retry_after_ms)
{
	static const char *const throttles[] = {
		"Throttling", "ThrottlingException", "ThrottledException",
		"RequestThrottledException", "TooManyRequestsException",
		"ProvisionedThroughputExceededException",
		"TransactionInProgressException", "RequestLimitExceeded",
		"BandwidthLimitExceeded", "LimitExceededException",
		"RequestThrottled", "SlowDown", "PriorRequestNotComplete",
		"EC2ThrottledException", NULL
	};
	static const char *const transients[] = {
		"RequestTimeout", "RequestTimeoutException", NULL
	};
	static const char *const expired[] = {
		"ExpiredToken", "ExpiredTokenException", NULL
	};
	long		status = req->http.status;
	char	   *code;
	char	   *message;

	if (status >= 200 && status < 300)
		return FU_VERDICT_OK;
	/* AWS sends no Retry-After, but a proxy in front of it may */
	*retry_after_ms = fu_retry_after_ms(req, "Retry-After");
	fu_aws_error(req, &code, &message);
	if (fu_aws_code_in(code, throttles) || status == 429)
		return FU_VERDICT_THROTTLED;
	if (fu_aws_code_in(code, expired) || status == 401)
		return FU_VERDICT_EXPIRED;
	if (fu_aws_code_in(code, transients) ||
		status == 500 || status == 502 || status == 503 || status == 504)
		return FU_VERDICT_TRANSIENT;
	return FU_VERDICT_FAILED;
}

/*
 * The error code and message of a response, safe to print: in the database
 * encoding, without secrets, and cut before the canonical request that
 * signature mismatches may echo (with the signed session token in it).
 */
void
fu_aws_error_text(FuRequest *req, List *secrets, char **code, char **message)
{
	static const char *const cuts[] = {"The Canonical String", "The String-to-Sign", NULL};

	fu_aws_error(req, code, message);
	*code = fu_redact(fu_api_text(*code), secrets);
	if (*message == NULL)
		return;
	*message = fu_api_text(*message);
	for (const char *const *c = cuts; *c; c++)
	{
		char	   *at = strstr(*message, *c);

		if (at)
		{
			while (at > *message && (at[-1] == ' ' || at[-1] == '\n'))
				at--;
			*at = '\0';
		}
	}
	*message = fu_redact(*message, secrets);
}

static void pg_attribute_noreturn()
aws_report_error(FuRequest *req, const FuCredential *cred)
{
	static const char *const bad_keys[] = {
		"InvalidSignatureException", "UnrecognizedClientException",
		"IncompleteSignatureException", "MissingAuthenticationTokenException",
		"InvalidClientTokenId", "SignatureDoesNotMatch", NULL
	};
	static const char *const denied[] = {"AccessDeniedException", "AccessDenied", NULL};
	char	   *code;
	char	   *message;
	const char *hint = NULL;
	long		status = req->http.status;

	fu_aws_error_text(req, cred ? cred->secrets : NIL, &code, &message);

	if (req->verdict == FU_VERDICT_THROTTLED)
		hint = psprintf("The request was throttled %d times in a row; run the query later or raise finops_usage.max_retries.",
						req->http.throttles);
	else if (req->verdict == FU_VERDICT_EXPIRED)
		hint = cred && strcmp(cred->method, fu_aws_assume_role.name) == 0 ?
			"The credentials of the assumed role expired and refreshing them did not help." :
			"The session token of the user mapping expired: set new credentials.";
	else if (fu_aws_code_in(code, bad_keys))
		hint = "Check access_key_id, secret_access_key and session_token of the user mapping.";
	else if (fu_aws_code_in(code, denied))
		hint = psprintf("The credentials (%s) lack a permission this table needs (ce:GetCostAndUsage, ce:GetCostForecast, ce:GetCostAndUsageWithResources, cloudwatch:GetMetricData, cloudwatch:ListMetrics).",
						cred ? cred->identity : "none");

	if (code == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("%s returned HTTP status %ld", req->label, status),
				 errdetail("The response body is not an AWS error document.")));
	ereport(ERROR,
			(errcode(ERRCODE_FDW_ERROR),
			 errmsg("%s returned HTTP status %ld: %s", req->label,
					status, code),
			 message ? errdetail("%s", message) : 0,
			 hint ? errhint("%s", hint) : 0));
}

const FuProvider fu_provider_aws = {
	.name = "aws",
	.sources = aws_sources,
	.imports = aws_imports,
	.options = aws_options,
	.credentials = aws_credentials,
	.authorize = fu_aws_authorize,
	.classify = aws_classify,
	.report_error = aws_report_error,
	.verify = fu_aws_verify,
	.docs = fu_aws_docs,
};
