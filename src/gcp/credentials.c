/*-------------------------------------------------------------------------
 *
 * credentials.c
 *		  Google credentials: an access token the user mapping supplies, a
 *		  service account key (the JSON key file's text) traded for an
 *		  access token at Google's OAuth token endpoint, or, when a
 *		  superuser allowed it (use_server_credentials), the key file the
 *		  database server's GOOGLE_APPLICATION_CREDENTIALS names.
 *
 * A service account signs a JWT assertion with its private key and posts
 * it to the key's token_uri (OAuth 2.0 JWT bearer grant, RFC 7523); the
 * answer is a bearer token for an hour, which the engine caches and
 * refreshes before it expires.  Neither the key nor the assertion ever
 * appears in a message.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <time.h>

#include "gcp.h"
#include "json.h"
#include "mb/pg_wchar.h"
#include "storage/fd.h"
#include "utils/memutils.h"

/* key files are a few kilobytes: anything much larger is not one */
#define KEY_FILE_MAX		(64 * 1024)

/* RFC 6749 makes expires_in optional; Google's tokens live an hour */
#define DEFAULT_TOKEN_SECS	3600

/* the longest text of the token endpoint's error a message carries */
#define ERROR_TEXT_MAX		500

#define JWT_BEARER_GRANT \
	"urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"

#define TOKEN_LABEL			"Google OAuth token endpoint"
#define CREDENTIALS_ENV		"GOOGLE_APPLICATION_CREDENTIALS"

/* The members of a service account key the token request needs */
typedef struct GcpKey
{
	char	   *client_email;
	char	   *private_key;
	char	   *private_key_id; /* NULL: the JWT has no kid */
	char	   *token_uri;
} GcpKey;

/* ---------- option values ---------- */

/*
 * What is wrong with an access token, or NULL.  It goes into a header:
 * a control character could inject another one.
 */
static const char *
token_problem(const char *token)
{
	if (token[0] == '\0')
		return "The token is empty.";
	for (const unsigned char *p = (const unsigned char *) token; *p; p++)
	{
		if (*p < 0x20 || *p == 0x7f)
			return "The token contains a control character (such as a line break).";
		if (*p == ' ')
			return "The token contains a space: give the token alone, without \"Bearer \".";
	}
	return NULL;
}

void
fu_gcp_check_token(const char *name, const char *value)
{
	const char *problem = token_problem(value);

	if (problem)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for option \"%s\"", name),
				 errdetail("%s", problem)));
}

/*
 * Parse a service account key into key, or raise an ERROR whose message is
 * invalid_msg and whose detail names what is missing: never the key's text
 */
static void
parse_key(const char *text, const char *invalid_msg, GcpKey *key)
{
	static const char *const members[] = {
		"type", "client_email", "private_key", "private_key_id", "token_uri",
		NULL
	};
	/* what else GOOGLE_APPLICATION_CREDENTIALS may name */
	static const char *const other_types[] = {
		"authorized_user", "external_account",
		"external_account_authorized_user", "impersonated_service_account",
		"gdch_service_account", NULL
	};
	const char *hint = "Give the whole text of the JSON key file Google issued for the service account.";
	char	   *v[lengthof(members) - 1];
	const char *missing = NULL;

	if (!fu_json_get_strings(text, strlen(text), members, v))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s", invalid_msg),
				 errdetail("The key is not a JSON object."),
				 errhint("%s", hint)));
	if (v[0] != NULL && strcmp(v[0], "service_account") != 0)
	{
		for (const char *const *t = other_types; *t; t++)
			if (strcmp(v[0], *t) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("%s", invalid_msg),
						 errdetail("Google credentials of type \"%s\" are not supported, only service account keys (type \"service_account\").",
								   *t),
						 errhint("%s", hint)));
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s", invalid_msg),
				 errdetail("The key's \"type\" member is not \"service_account\"."),
				 errhint("%s", hint)));
	}

	/* type, client_email and private_key are required */
	for (int i = 0; i < 3 && missing == NULL; i++)
		if (v[i] == NULL || v[i][0] == '\0')
			missing = members[i];
	if (missing)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s", invalid_msg),
				 errdetail("The service account key has no \"%s\" member.", missing),
				 errhint("%s", hint)));

	key->client_email = v[1];
	key->private_key = v[2];
	key->private_key_id = (v[3] && v[3][0]) ? v[3] : NULL;
	key->token_uri = (v[4] && v[4][0]) ? v[4] : GCP_TOKEN_URI;
}

void
fu_gcp_check_key(const char *name, const char *value)
{
	GcpKey		key;

	parse_key(value, psprintf("invalid value for option \"%s\"", name), &key);
}

/* ---------- the token request ---------- */

/* Is host (with or without port 443) one of Google's? */
static bool
google_host(const char *host)
{
	char	   *h = pstrdup(host);
	char	   *colon = strrchr(h, ':');
	size_t		len;

	if (colon && strcmp(colon, ":443") == 0)
		*colon = '\0';
	for (char *p = h; *p; p++)
		*p = pg_ascii_tolower((unsigned char) *p);
	len = strlen(h);
	return strcmp(h, "accounts.google.com") == 0 ||
		(len > 15 && strcmp(h + len - 15, ".googleapis.com") == 0);
}

/*
 * Where the token request goes: the key's token_uri, or, when the server
 * has an endpoint, that endpoint with the token_uri's path.  The key's own
 * URI must be https on a Google host: the key is text anyone may write,
 * and only a superuser may point the server's requests elsewhere (the
 * endpoint option).
 */
static void
token_url(ForeignServer *server, const char *token_uri, const char *origin,
		  char **base_url, char **path)
{
	const char *authority;
	size_t		hostlen;
	char	   *host;

	for (const unsigned char *p = (const unsigned char *) token_uri; *p; p++)
		if (*p <= ' ' || *p == 0x7f)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid token_uri in %s", origin),
					 errdetail("The URI contains a space or a control character.")));
	if (pg_strncasecmp(token_uri, "https://", 8) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid token_uri in %s", origin),
				 errdetail("The token endpoint of a service account key is an https URI."),
				 errhint("To send the token request to an emulator or proxy, a superuser sets the endpoint option of the server.")));

	authority = token_uri + 8;
	hostlen = strcspn(authority, "/?#");
	host = pnstrdup(authority, hostlen);
	if (hostlen == 0 || strchr(host, '@') != NULL ||
		strchr(authority, '#') != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid token_uri in %s", origin),
				 errdetail("The URI has no host, or has user information or a fragment.")));

	if (fu_get_option(server->options, "endpoint") == NULL && !google_host(host))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid token_uri in %s", origin),
				 errdetail("The token endpoint \"%s\" is not a Google host (accounts.google.com or a host under googleapis.com).",
						   fu_api_text(host)),
				 errhint("To send the token request to an emulator or proxy, a superuser sets the endpoint option of the server.")));

	*base_url = fu_base_url(server, host);
	*path = pstrdup(authority + hostlen);
}

/* Fill cred with this token, copied into cxt */
static void
set_token(FuCredential *cred, MemoryContext cxt, const char *token,
		  const char *identity)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	GcpToken   *t = palloc0(sizeof(GcpToken));

	t->access_token = pstrdup(token);
	cred->data = t;
	cred->identity = pstrdup(identity);
	cred->secrets = list_make1(t->access_token);
	MemoryContextSwitchTo(old);
}

/*
 * The text of an error member of the token endpoint, for a message:
 * redacted before it is cut, which could split a secret
 */
static char *
error_text(const char *s, List *secrets)
{
	char	   *text;

	if (s == NULL)
		return NULL;
	text = fu_redact(fu_api_text(s), secrets);
	return pnstrdup(text, pg_mbcliplen(text, strlen(text), ERROR_TEXT_MAX));
}

/*
 * Which answers of the token endpoint are worth sending the request again
 * (google-auth's _can_retry): HTTP 5xx, 408 and 429, and the error codes
 * of a server that failed.  A 401 is invalid_client, not an expired
 * credential: the request carries none to refresh.
 */
FuVerdict
fu_gcp_classify_token(FuRequest *req, int *retry_after_ms)
{
	static const char *const members[] = {"error", "error_description", NULL};
	static const char *const retryable[] = {
		"internal_failure", "server_error", "temporarily_unavailable", NULL
	};
	long		status = req->http.status;
	char	   *v[2];

	if (status >= 200 && status < 300)
		return FU_VERDICT_OK;
	*retry_after_ms = fu_retry_after_ms(req, "Retry-After");
	if (status == 429)
		return FU_VERDICT_THROTTLED;
	if (status == 408 || (status >= 500 && status < 600))
		return FU_VERDICT_TRANSIENT;
	if (req->http.resp != NULL &&
		fu_json_get_strings(req->http.resp, req->http.resp_len, members, v))
	{
		for (int i = 0; i < 2; i++)
			for (const char *const *r = retryable; v[i] && *r; r++)
				if (strcmp(v[i], *r) == 0)
					return FU_VERDICT_TRANSIENT;
	}
	return FU_VERDICT_FAILED;
}

static void pg_attribute_noreturn()
report_token_error(FuRequest *req, const char *email, List *secrets)
{
	/* OAuth's {"error", "error_description"}, else Google's envelope */
	static const char *const members[] = {
		"error|error.status", "error_description|error.message", NULL
	};
	char	   *v[2] = {NULL, NULL};
	char	   *code;
	char	   *description;
	const char *hint = NULL;

	if (req->http.resp != NULL)
		(void) fu_json_get_strings(req->http.resp, req->http.resp_len,
								   members, v);
	code = error_text(v[0], secrets);
	description = error_text(v[1], secrets);

	if (req->verdict == FU_VERDICT_THROTTLED)
		hint = "The token endpoint throttled the request; run the query later or raise finops_usage.max_retries.";
	else if (req->verdict == FU_VERDICT_TRANSIENT)
		hint = "The token endpoint failed repeatedly; run the query later.";
	else if (code && strcmp(code, "invalid_grant") == 0)
		hint = "Check that the database server's clock is right (the assertion is valid for an hour from its issue time), and that the key was not deleted or disabled.";
	else if (code && (strcmp(code, "invalid_client") == 0 ||
					  strcmp(code, "unauthorized_client") == 0))
		hint = "The service account or its key may have been deleted or disabled: create a new key for the service account.";
	else if (code && strcmp(code, "invalid_scope") == 0)
		hint = "The token endpoint refused the scopes of Cloud Monitoring (read) and BigQuery (read only).";

	ereport(ERROR,
			(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
			 errmsg("could not obtain a Google access token for service account \"%s\"",
					email),
			 code && description ?
			 errdetail("%s: %s", code, description) :
			 code ?
			 errdetail("%s (HTTP status %ld).", code, req->http.status) :
			 errdetail("The token endpoint returned HTTP status %ld.",
					   req->http.status),
			 hint ? errhint("%s", hint) : 0));
}

/*
 * Trade a service account key for an access token.  origin names where
 * the key came from, for messages.
 */
static void
obtain_with_key(const FuAuth *auth, FuCredential *cred, const char *key_text,
				const char *invalid_msg, const char *origin)
{
	static const char *const members[] = {"access_token", "expires_in", NULL};
	GcpKey		key;
	char	   *base_url;
	char	   *path;
	char	   *assertion;
	char	   *email;
	List	   *secrets;
	StringInfoData body;
	FuRequest  *req;
	TimestampTz now;
	char	   *v[2];
	int64		lifetime = DEFAULT_TOKEN_SECS;

	parse_key(key_text, invalid_msg, &key);
	email = fu_api_text(key.client_email);
	token_url(auth->server, key.token_uri, origin, &base_url, &path);

	/* the real time, not finops_usage.today: the token endpoint checks it */
	assertion = fu_gcp_jwt_assertion(key.private_key, key.private_key_id,
									 key.client_email, GCP_SCOPES,
									 key.token_uri, (int64) time(NULL));
	secrets = list_make2(assertion, key.private_key);

	/* base64url and '.' need no percent-encoding */
	initStringInfo(&body);
	appendStringInfo(&body, "grant_type=%s&assertion=%s", JWT_BEARER_GRANT,
					 assertion);

	/* no Authorization: the assertion is the credential */
	req = fu_auth_request(auth, TOKEN_LABEL, "POST", base_url, path);
	fu_request_body(req, "application/x-www-form-urlencoded", body.data,
					body.len);
	now = GetCurrentTimestamp();
	if (fu_auth_send(auth, req, NULL) != FU_VERDICT_OK)
		report_token_error(req, email, secrets);

	if (req->http.resp == NULL ||
		!fu_json_get_strings(req->http.resp, req->http.resp_len, members, v) ||
		v[0] == NULL || token_problem(v[0]) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
				 errmsg("malformed response from the Google OAuth token endpoint for service account \"%s\"",
						email),
				 errdetail("The answer lacks a usable access_token.")));
	if (v[1] != NULL)
	{
		char	   *end;
		long		secs = strtol(v[1], &end, 10);

		if (end == v[1] || *end != '\0' || secs <= 0 || secs > INT_MAX)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
					 errmsg("malformed response from the Google OAuth token endpoint for service account \"%s\"",
							email),
					 errdetail("Member expires_in is not a positive number of seconds.")));
		lifetime = secs;
	}

	set_token(cred, auth->cxt, v[0], email);
	cred->expires = now + lifetime * USECS_PER_SEC;
}

/* ---------- an access token of the user mapping ---------- */

static bool
token_applies(const FuAuth *auth)
{
	return fu_auth_option(auth, "access_token") != NULL;
}

static void
token_obtain(const FuAuth *auth, FuCredential *cred)
{
	char	   *token = fu_auth_option(auth, "access_token");

	/* which one was meant is not ours to guess */
	if (fu_auth_option(auth, "service_account_key") != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
				 errmsg("the user mapping for server \"%s\" sets both access_token and service_account_key",
						auth->server->servername),
				 errhint("Drop one of them with ALTER USER MAPPING ... OPTIONS (DROP access_token) or (DROP service_account_key).")));
	fu_gcp_check_token("access_token", token);
	/* its lifetime is unknown: DT_NOEND, until an API rejects it */
	set_token(cred, auth->cxt, token, "access token");
}

static char *
token_describe(const FuAuth *auth)
{
	return pstrdup("GCP access token");
}

const FuCredentialProvider fu_gcp_access_token = {
	.name = "GCP access token",
	.applies = token_applies,
	.obtain = token_obtain,
	.describe = token_describe,
};

/* ---------- a service account key of the user mapping ---------- */

/* "GCP service account <client_email>", without raising an error */
static char *
describe_key(const char *text, const char *suffix)
{
	static const char *const members[] = {"client_email", NULL};
	char	   *v[1];

	if (text && fu_json_get_strings(text, strlen(text), members, v) &&
		v[0] && v[0][0])
		return psprintf("GCP service account %s%s", fu_api_text(v[0]), suffix);
	return psprintf("GCP service account key%s", suffix);
}

static bool
key_applies(const FuAuth *auth)
{
	return fu_auth_option(auth, "service_account_key") != NULL;
}

static void
key_obtain(const FuAuth *auth, FuCredential *cred)
{
	obtain_with_key(auth, cred, fu_auth_option(auth, "service_account_key"),
					"invalid value for option \"service_account_key\"",
					"option \"service_account_key\"");
}

static char *
key_describe(const FuAuth *auth)
{
	return describe_key(fu_auth_option(auth, "service_account_key"), "");
}

const FuCredentialProvider fu_gcp_service_account = {
	.name = "GCP service account",
	.applies = key_applies,
	.obtain = key_obtain,
	.describe = key_describe,
};

/* ---------- the database server's key file ---------- */

/*
 * The text of the key file at path; NULL when it cannot be read and quiet
 * (EXPLAIN), else an ERROR
 */
static char *
read_key_file(const char *path, bool quiet)
{
	FILE	   *f;
	char	   *buf;
	size_t		n;
	int			save_errno;

	f = AllocateFile(path, PG_BINARY_R);
	if (f == NULL)
	{
		if (quiet)
			return NULL;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open file \"%s\" named by %s: %m",
						path, CREDENTIALS_ENV)));
	}
	buf = palloc(KEY_FILE_MAX + 1);
	n = fread(buf, 1, KEY_FILE_MAX + 1, f);
	save_errno = errno;
	if (ferror(f))
	{
		FreeFile(f);
		if (quiet)
			return NULL;
		errno = save_errno;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not read file \"%s\" named by %s: %m",
						path, CREDENTIALS_ENV)));
	}
	FreeFile(f);
	if (n > KEY_FILE_MAX)
	{
		if (quiet)
			return NULL;
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("file \"%s\" named by %s is too large for a service account key",
						path, CREDENTIALS_ENV),
				 errdetail("A key file has a few kilobytes; this one has more than %d kB.",
						   KEY_FILE_MAX / 1024)));
	}
	buf[n] = '\0';
	return buf;
}

static bool
server_applies(const FuAuth *auth)
{
	return fu_auth_option(auth, "access_token") == NULL &&
		fu_auth_option(auth, "service_account_key") == NULL &&
		fu_auth_server_credentials(auth);
}

static void
server_obtain(const FuAuth *auth, FuCredential *cred)
{
	const char *path = getenv(CREDENTIALS_ENV);
	char	   *origin;

	if (path == NULL || path[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
				 errmsg("no GCP credentials for server \"%s\"",
						auth->server->servername),
				 errdetail("The user mapping may use the database server's credentials, but %s is not set in the server's environment.",
						   CREDENTIALS_ENV),
				 errhint("Set service_account_key or access_token in the user mapping, or %s in the environment of the database server to the path of a service account key file.",
						 CREDENTIALS_ENV)));
	origin = psprintf("file \"%s\" named by %s", path, CREDENTIALS_ENV);
	obtain_with_key(auth, cred, read_key_file(path, false),
					psprintf("invalid service account key in %s", origin),
					origin);
}

static char *
server_describe(const FuAuth *auth)
{
	const char *path = getenv(CREDENTIALS_ENV);

	return describe_key(path && path[0] ? read_key_file(path, true) : NULL,
						" (" CREDENTIALS_ENV " of the database server)");
}

const FuCredentialProvider fu_gcp_server_credentials = {
	.name = "GCP server credentials",
	.applies = server_applies,
	.obtain = server_obtain,
	.describe = server_describe,
};
