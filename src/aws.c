/*-------------------------------------------------------------------------
 *
 * aws.c
 *		  What every AWS source shares: credentials, endpoints, SigV4
 *		  signing of JSON-protocol requests, and AWS error bodies.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <time.h>

#include "commands/defrem.h"
#include "aws.h"
#include "finops_usage.h"
#include "json.h"
#include "mb/pg_wchar.h"
#include "sigv4.h"
#include "common/string.h"
#include "storage/fd.h"

typedef struct AwsCredentials
{
	char	   *access_key_id;
	char	   *secret_access_key;
	char	   *session_token;
} AwsCredentials;

/* Read one profile of an AWS shared credentials file */
static void
read_credentials_file(AwsCredentials *cred)
{
	const char *path = getenv("AWS_SHARED_CREDENTIALS_FILE");
	const char *profile = getenv("AWS_PROFILE");
	StringInfoData line_buf;
	bool		in_profile = false;
	FILE	   *f;

	if (profile == NULL || profile[0] == '\0')
		profile = "default";
	if (path == NULL)
	{
		const char *home = getenv("HOME");

		if (home == NULL)
			return;
		path = psprintf("%s/.aws/credentials", home);
	}
	f = AllocateFile(path, "r");
	if (f == NULL)
		return;
	initStringInfo(&line_buf);
	/* whole lines: session tokens run to more than a kilobyte */
	while (pg_get_line_buf(f, &line_buf))
	{
		char	   *line = line_buf.data;
		char	   *eq;
		char	   *end;

		while (*line == ' ' || *line == '\t')
			line++;
		end = line + strlen(line);
		while (end > line && (end[-1] == '\n' || end[-1] == '\r' ||
							  end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (line[0] == '[')
		{
			char	   *close = strchr(line, ']');

			if (close)
				*close = '\0';
			in_profile = strcmp(line + 1, profile) == 0;
			continue;
		}
		if (!in_profile || (eq = strchr(line, '=')) == NULL)
			continue;
		*eq = '\0';
		for (end = eq; end > line && (end[-1] == ' ' || end[-1] == '\t');)
			*--end = '\0';
		eq++;
		while (*eq == ' ' || *eq == '\t')
			eq++;
		if (strcmp(line, "aws_access_key_id") == 0)
			cred->access_key_id = pstrdup(eq);
		else if (strcmp(line, "aws_secret_access_key") == 0)
			cred->secret_access_key = pstrdup(eq);
		else if (strcmp(line, "aws_session_token") == 0)
			cred->session_token = pstrdup(eq);
	}
	FreeFile(f);
}

static bool
use_server_credentials(UserMapping *um)
{
	ListCell   *lc;

	foreach(lc, um->options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);

		if (strcmp(def->defname, "use_server_credentials") == 0)
			return defGetBoolean(def);
	}
	return false;
}

/*
 * Credentials of the user mapping; the server's own environment and files
 * only when a superuser allowed them in the mapping.
 */
static void
get_credentials(FuScan *scan, AwsCredentials *cred)
{
	List	   *opts = scan->user->options;

	cred->access_key_id = fu_get_option(opts, "access_key_id");
	cred->secret_access_key = fu_get_option(opts, "secret_access_key");
	cred->session_token = fu_get_option(opts, "session_token");

	if ((cred->access_key_id == NULL || cred->secret_access_key == NULL) &&
		use_server_credentials(scan->user))
	{
		const char *ak = getenv("AWS_ACCESS_KEY_ID");
		const char *sk = getenv("AWS_SECRET_ACCESS_KEY");

		if (ak && sk && ak[0] && sk[0])
		{
			const char *tok = getenv("AWS_SESSION_TOKEN");

			cred->access_key_id = pstrdup(ak);
			cred->secret_access_key = pstrdup(sk);
			cred->session_token = (tok && tok[0]) ? pstrdup(tok) : NULL;
		}
		else
			read_credentials_file(cred);
	}

	if (cred->access_key_id == NULL || cred->secret_access_key == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
				 errmsg("no AWS credentials for server \"%s\"",
						scan->server->servername),
				 errhint("Set access_key_id and secret_access_key in the user mapping.")));
}

/* Base URL of an AWS service: the server's endpoint option, or the host */
char *
fu_aws_endpoint(FuScan *scan, const char *host)
{
	char	   *endpoint = fu_get_option(scan->server->options, "endpoint");
	size_t		len;

	if (endpoint == NULL)
		return psprintf("https://%s/", host);
	len = strlen(endpoint);
	if (len > 0 && endpoint[len - 1] == '/')
		return pstrdup(endpoint);
	return psprintf("%s/", endpoint);
}

/* Split "scheme://host[:port]/path" into host[:port] and path */
static void
split_url(const char *url, char **host, char **path)
{
	const char *p = strstr(url, "://");
	const char *slash;

	p = p ? p + 3 : url;
	slash = strchr(p, '/');
	if (slash == NULL)
	{
		*host = pstrdup(p);
		*path = pstrdup("/");
	}
	else
	{
		*host = pnstrdup(p, slash - p);
		*path = pstrdup(slash);
	}
	/* the query, if any, is not part of the path */
	{
		char	   *q = strchr(*path, '?');

		if (q)
			*q = '\0';
	}
}

/*
 * Sign an AWS JSON-protocol request (SigV4) with fresh time and build its
 * headers.  Requests are signed for the real service and region even when
 * an endpoint option sends them elsewhere.
 */
void
fu_aws_prepare(FuScan *scan, FuRequest *req, const char *service,
			   const char *region, const char *target,
			   const char *content_type, bool query_mode)
{
	AwsCredentials cred;
	FuSigV4Header headers[6];
	FuSigV4Request sreq;
	FuSigV4Credentials scred;
	FuSigV4Result res;
	char		amz_date[17];
	char	   *host;
	char	   *path;
	int			n = 0;
	int			rc;
	char	   *authz;
	FuHttpRequest *http = &req->http;

	get_credentials(scan, &cred);
	split_url(http->url, &host, &path);
	fu_sigv4_amz_date(time(NULL), amz_date);

	headers[n++] = (FuSigV4Header) {"Host", host};
	headers[n++] = (FuSigV4Header) {"X-Amz-Date", amz_date};
	headers[n++] = (FuSigV4Header) {"Content-Type", content_type};
	if (target)
		headers[n++] = (FuSigV4Header) {"X-Amz-Target", target};
	if (cred.session_token)
		headers[n++] = (FuSigV4Header) {"X-Amz-Security-Token", cred.session_token};
	/* query-compatible services (CloudWatch) keep their legacy error codes */
	if (query_mode)
		headers[n++] = (FuSigV4Header) {"x-amzn-query-mode", "true"};

	sreq.method = http->method;
	sreq.path = path;
	sreq.query = NULL;
	sreq.headers = headers;
	sreq.nheaders = n;
	sreq.body = (const unsigned char *) http->body;
	sreq.body_len = http->body_len;
	scred.access_key_id = cred.access_key_id;
	scred.secret_access_key = cred.secret_access_key;
	scred.region = region;
	scred.service = service;

	rc = fu_sigv4_sign(&sreq, &scred, amz_date, true, &res);
	if (rc != 0)
	{
		fu_sigv4_result_free(&res);
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("could not sign a request to %s", scan->source->api),
				 errdetail("The access key id or region contains characters SigV4 does not allow, or memory ran out.")));
	}
	authz = pstrdup(res.authorization);
	fu_sigv4_result_free(&res);

	http->headers = NIL;
	for (int i = 0; i < n; i++)
		http->headers = lappend(http->headers,
								psprintf("%s: %s", headers[i].name,
										 headers[i].value));
	http->headers = lappend(http->headers,
							psprintf("Authorization: %s", authz));
	http->headers = lappend(http->headers, "Accept: application/json");
}

/* Error code and message of an AWS JSON error body (botocore's rules) */
static void
aws_error(FuRequest *req, char **code, char **message)
{
	static const char *const keys[] = {"__type|code|Code", "message|Message", NULL};
	char	   *vals[2];

	*code = NULL;
	*message = NULL;
	if (req->http.resp == NULL ||
		!fu_json_get_strings(req->http.resp, req->http.resp_len, keys, vals))
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
	{
		char	   *legacy = fu_http_header(&req->http, "x-amzn-query-error");

		if (legacy && legacy[0])
		{
			char	   *semi = strchr(legacy, ';');

			if (semi)
				*semi = '\0';
			*code = legacy;
		}
	}
}

static bool
code_in(const char *code, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(code, *list) == 0)
			return true;
	return false;
}

FuVerdict
fu_aws_check(FuScan *scan, FuRequest *req)
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
		"RequestTimeout", "RequestTimeoutException",
		"PriorRequestNotComplete", NULL
	};
	long		status = req->http.status;
	char	   *code;
	char	   *message;

	if (status >= 200 && status < 300)
		return FU_VERDICT_OK;
	aws_error(req, &code, &message);
	if (code && code_in(code, throttles))
		return FU_VERDICT_THROTTLED;
	if (status == 429)
		return FU_VERDICT_THROTTLED;
	if ((code && code_in(code, transients)) ||
		status == 500 || status == 502 || status == 503 || status == 504)
		return FU_VERDICT_TRANSIENT;
	return FU_VERDICT_FAILED;
}

/* Text from the API (UTF-8) in the database encoding, for messages */
static char *
api_text(const char *s)
{
	if (s == NULL)
		return NULL;
	if (!pg_verify_mbstr(PG_UTF8, s, strlen(s), true))
		return "(message not valid UTF-8)";
	return pg_any_to_server(s, strlen(s), PG_UTF8);
}

/* Replace every occurrence of secret in s (both may be NULL) */
static char *
redact(char *s, const char *secret)
{
	StringInfoData out;
	char	   *p;
	size_t		len;

	if (s == NULL || secret == NULL || (len = strlen(secret)) < 4 ||
		strstr(s, secret) == NULL)
		return s;
	initStringInfo(&out);
	while ((p = strstr(s, secret)) != NULL)
	{
		appendBinaryStringInfo(&out, s, p - s);
		appendStringInfoString(&out, "<redacted>");
		s = p + len;
	}
	appendStringInfoString(&out, s);
	return out.data;
}

/*
 * An error message of the service, safe to print: signature mismatches
 * may echo the canonical request, with the signed session token.
 */
static char *
safe_message(FuScan *scan, char *message)
{
	AwsCredentials cred;
	static const char *const cuts[] = {"The Canonical String", "The String-to-Sign", NULL};

	if (message == NULL)
		return NULL;
	for (const char *const *c = cuts; *c; c++)
	{
		char	   *at = strstr(message, *c);

		if (at)
		{
			while (at > message && (at[-1] == ' ' || at[-1] == '\n'))
				at--;
			*at = '\0';
		}
	}
	get_credentials(scan, &cred);
	message = redact(message, cred.secret_access_key);
	message = redact(message, cred.session_token);
	return message;
}

void
fu_aws_report_error(FuScan *scan, FuRequest *req)
{
	char	   *code;
	char	   *message;
	const char *hint = NULL;
	long		status = req->http.status;

	aws_error(req, &code, &message);
	code = api_text(code);
	message = safe_message(scan, api_text(message));

	if (req->http.throttles > 0 && fu_aws_check(scan, req) == FU_VERDICT_THROTTLED)
		hint = psprintf("The request was throttled %d times in a row; run the query later or raise finops_usage.max_retries.",
						req->http.throttles);
	else if (code && (strcmp(code, "InvalidSignatureException") == 0 ||
				 strcmp(code, "UnrecognizedClientException") == 0 ||
				 strcmp(code, "IncompleteSignatureException") == 0 ||
				 strcmp(code, "ExpiredTokenException") == 0 ||
				 strcmp(code, "MissingAuthenticationTokenException") == 0))
		hint = "Check access_key_id, secret_access_key and session_token of the user mapping.";
	else if (code && strcmp(code, "AccessDeniedException") == 0)
		hint = "The credentials lack a permission this table needs (ce:GetCostAndUsage, ce:GetCostForecast, cloudwatch:GetMetricData, cloudwatch:ListMetrics).";

	if (status >= 200 && status < 300)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("unexpected response from %s", req->label)));
	if (code == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("%s returned HTTP status %ld", req->label, status),
				 errdetail("The response body is not an AWS error document.")));
	ereport(ERROR,
			(errcode(ERRCODE_FDW_ERROR),
			 errmsg("%s returned HTTP status %ld: %s", req->label,
					status, code),
			 errdetail("%s: %s", code, message ? message : "(no message)"),
			 hint ? errhint("%s", hint) : 0));
}
