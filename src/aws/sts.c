/*-------------------------------------------------------------------------
 *
 * sts.c
 *		  AWS AssumeRole: a user mapping with role_arn gets the temporary
 *		  credentials of that role from STS, signed with its own access
 *		  keys (or the server's, when allowed).
 *
 * STS speaks the Query protocol: a form-encoded POST to the regional
 * endpoint (the server's region; its endpoint option redirects it as every
 * other AWS call), SigV4 for service "sts", and an XML answer.  The engine
 * caches the credentials and refreshes them before they expire.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "aws.h"
#include "utils/builtins.h"

#define DEFAULT_SESSION_NAME	"finops_usage"
#define STS_VERSION				"2011-06-15"

/* ---------- option values (the model's constraints) ---------- */

static bool
chars_in(const char *s, const char *extra)
{
	for (; *s; s++)
		if (!isalnum((unsigned char) *s) && *s != '_' && strchr(extra, *s) == NULL)
			return false;
	return true;
}

void
fu_aws_check_role_arn(const char *name, const char *value)
{
	const char *p = value;
	int			digits = 0;

	/*
	 * arn:aws:iam::<12-digit account>:role/<path and name>.  Only the aws
	 * partition: the others (aws-cn, aws-us-gov) have their own hosts.
	 */
	if (strncmp(p, "arn:aws-", 8) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("AWS partitions other than \"aws\" are not supported"),
				 errdetail("Option \"%s\" names a role of partition \"%.*s\", whose endpoints are not under amazonaws.com.",
						   name, (int) strcspn(p + 4, ":"), p + 4)));
	if (strncmp(p, "arn:aws:iam::", 13) == 0)
		for (p += 13; isdigit((unsigned char) *p); p++)
			digits++;
	if (digits != 12 || strncmp(p, ":role/", 6) != 0 || p[6] == '\0' ||
		strlen(value) > 2048 || strpbrk(value, " \t\r\n") != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for option \"%s\": \"%s\"", name, value),
				 errhint("A role ARN looks like arn:aws:iam::123456789012:role/cost-reader.")));
}

void
fu_aws_check_external_id(const char *name, const char *value)
{
	size_t		len = strlen(value);

	if (len < 2 || len > 1224 || !chars_in(value, "+=,.@:/-"))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for option \"%s\"", name),
				 errdetail("An external id has 2 to 1224 letters, digits or characters of _+=,.@:/-.")));
}

void
fu_aws_check_session_name(const char *name, const char *value)
{
	size_t		len = strlen(value);

	if (len < 2 || len > 64 || !chars_in(value, "+=,.@-"))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for option \"%s\": \"%s\"", name, value),
				 errdetail("A role session name has 2 to 64 letters, digits or characters of _+=,.@-.")));
}

void
fu_aws_check_duration(const char *name, const char *value)
{
	long		v = 0;
	const char *p;

	/* digits only: the value goes into the request as it is written */
	for (p = value; *p >= '0' && *p <= '9' && p - value < 5; p++)
		v = v * 10 + (*p - '0');
	if (p == value || *p != '\0' || v < 900 || v > 43200)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for option \"%s\": \"%s\"", name, value),
				 errdetail("The duration of a role session is 900 to 43200 seconds; the role's maximum session duration caps it.")));
}

/* ---------- the credential provider ---------- */

static bool
assume_applies(const FuAuth *auth)
{
	return fu_auth_option(auth, "role_arn") != NULL;
}

static char *
assume_describe(const FuAuth *auth)
{
	return psprintf("AWS AssumeRole %s%s", fu_auth_option(auth, "role_arn"),
					fu_auth_option(auth, "external_id") ?
					" (with an external id)" : "");
}

static void
form_param(StringInfo body, const char *name, const char *value)
{
	appendStringInfo(body, "&%s=%s", name, fu_url_encode(value));
}

static void pg_attribute_noreturn()
report_sts_error(const FuAuth *auth, FuRequest *req, const FuCredential *base,
				 const char *role)
{
	static const char *const bad_keys[] = {
		"InvalidClientTokenId", "SignatureDoesNotMatch", "ExpiredToken", NULL
	};
	char	   *code;
	char	   *message;
	const char *hint = NULL;

	fu_aws_error_text(req, base->secrets, &code, &message);
	if (code && strcmp(code, "AccessDenied") == 0)
		hint = "The role's trust policy must allow the user mapping's credentials to assume it, with the external_id the policy asks for.";
	else if (fu_aws_code_in(code, bad_keys))
		hint = "Check access_key_id, secret_access_key and session_token of the user mapping: they sign the AssumeRole call.";
	else if (code && strcmp(code, "ValidationError") == 0)
		hint = "Check role_arn, role_session_name and duration of the user mapping.";
	else if (req->verdict == FU_VERDICT_THROTTLED)
		hint = "STS throttled the call; run the query later or raise finops_usage.max_retries.";
	ereport(ERROR,
			(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
			 errmsg("could not assume role \"%s\" for server \"%s\"",
					role, auth->server->servername),
			 code ?
			 errdetail("%s (HTTP %ld): %s", code, req->http.status,
					   message ? message : "(no message)") :
			 errdetail("STS returned HTTP status %ld.", req->http.status),
			 hint ? errhint("%s", hint) : 0));
}

static void
assume_obtain(const FuAuth *auth, FuCredential *cred)
{
	static const char *const p_akid[] = {"AssumeRoleResponse", "AssumeRoleResult", "Credentials", "AccessKeyId", NULL};
	static const char *const p_secret[] = {"AssumeRoleResponse", "AssumeRoleResult", "Credentials", "SecretAccessKey", NULL};
	static const char *const p_token[] = {"AssumeRoleResponse", "AssumeRoleResult", "Credentials", "SessionToken", NULL};
	static const char *const p_expires[] = {"AssumeRoleResponse", "AssumeRoleResult", "Credentials", "Expiration", NULL};
	static const char *const p_arn[] = {"AssumeRoleResponse", "AssumeRoleResult", "AssumedRoleUser", "Arn", NULL};
	const char *role = fu_auth_option(auth, "role_arn");
	const char *external_id = fu_auth_option(auth, "external_id");
	const char *session = fu_auth_option(auth, "role_session_name");
	const char *duration = fu_auth_option(auth, "duration");
	const char *region = fu_aws_region(auth->server);
	FuCredential base;
	FuRequest  *req;
	StringInfoData body;
	char	   *akid,
			   *secret,
			   *token,
			   *expiration,
			   *arn;
	TimestampTz expires;

	memset(&base, 0, sizeof(base));
	base.expires = DT_NOEND;
	fu_aws_base_keys(auth, &base, CurrentMemoryContext);

	initStringInfo(&body);
	appendStringInfo(&body, "Action=AssumeRole&Version=%s", STS_VERSION);
	form_param(&body, "RoleArn", role);
	form_param(&body, "RoleSessionName", session ? session : DEFAULT_SESSION_NAME);
	if (duration)
		form_param(&body, "DurationSeconds", duration);
	if (external_id)
		form_param(&body, "ExternalId", external_id);

	req = fu_auth_request(auth, psprintf("AWS STS AssumeRole in %s", region),
						  "POST",
						  fu_base_url(auth->server,
									  psprintf("sts.%s.amazonaws.com", region)),
						  "/");
	req->scope = psprintf("sts/%s", region);
	fu_request_body(req, "application/x-www-form-urlencoded; charset=utf-8",
					body.data, body.len);
	if (fu_auth_send(auth, req, &base) != FU_VERDICT_OK)
		report_sts_error(auth, req, &base, role);

	akid = fu_aws_xml_text(req->http.resp, req->http.resp_len, p_akid);
	secret = fu_aws_xml_text(req->http.resp, req->http.resp_len, p_secret);
	token = fu_aws_xml_text(req->http.resp, req->http.resp_len, p_token);
	expiration = fu_aws_xml_text(req->http.resp, req->http.resp_len, p_expires);
	arn = fu_aws_xml_text(req->http.resp, req->http.resp_len, p_arn);
	if (akid == NULL || secret == NULL || token == NULL || expiration == NULL ||
		!akid[0] || !secret[0] || !token[0] ||
		!fu_parse_timestamptz(expiration, &expires))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
				 errmsg("malformed response from AWS STS AssumeRole for role \"%s\"", role),
				 errdetail("The answer lacks Credentials with an AccessKeyId, a SecretAccessKey, a SessionToken and an Expiration.")));

	fu_aws_set_keys(cred, auth->cxt, akid, secret, token);
	cred->identity = MemoryContextStrdup(auth->cxt,
										 fu_api_text(arn && arn[0] ? arn : role));
	cred->expires = expires;
}

/*
 * availability(): STS GetCallerIdentity, which is free and needs no
 * permission, signed with the credentials the scans would use.
 */
char *
fu_aws_verify(const FuAuth *auth, const FuCredential *cred)
{
	static const char *const p_arn[] = {"GetCallerIdentityResponse", "GetCallerIdentityResult", "Arn", NULL};
	const char *region = fu_aws_region(auth->server);
	FuRequest  *req;
	char	   *arn;
	char	   *code;
	char	   *message;

	req = fu_auth_request(auth, psprintf("AWS STS GetCallerIdentity in %s", region),
						  "POST",
						  fu_base_url(auth->server,
									  psprintf("sts.%s.amazonaws.com", region)),
						  "/");
	req->scope = psprintf("sts/%s", region);
	fu_request_body(req, "application/x-www-form-urlencoded; charset=utf-8",
					"Action=GetCallerIdentity&Version=" STS_VERSION,
					strlen("Action=GetCallerIdentity&Version=" STS_VERSION));
	if (fu_auth_send(auth, req, cred) != FU_VERDICT_OK)
	{
		fu_aws_error_text(req, cred->secrets, &code, &message);
		ereport(ERROR,
				(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
				 errmsg("AWS STS refused the credentials of server \"%s\"",
						auth->server->servername),
				 code ?
				 errdetail("%s (HTTP %ld): %s", code, req->http.status,
						   message ? message : "(no message)") :
				 errdetail("STS returned HTTP status %ld.", req->http.status)));
	}
	arn = fu_aws_xml_text(req->http.resp, req->http.resp_len, p_arn);
	if (arn == NULL || arn[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
				 errmsg("malformed response from AWS STS GetCallerIdentity"),
				 errdetail("The answer has no Arn.")));
	return fu_api_text(arn);
}

const FuCredentialProvider fu_aws_assume_role = {
	.name = "AWS AssumeRole",
	.applies = assume_applies,
	.obtain = assume_obtain,
	.describe = assume_describe,
	.principal = fu_aws_principal,
};
