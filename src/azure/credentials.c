/*-------------------------------------------------------------------------
 *
 * credentials.c
 *		  Microsoft Entra ID credentials: an application's client secret
 *		  (the OAuth 2.0 client-credentials flow against the v2.0 token
 *		  endpoint, one token per audience), an access token supplied as it
 *		  is, or, when a superuser allowed it, the database server's own
 *		  AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "azure.h"
#include "json.h"
#include "utils/builtins.h"

#define TOKEN_LABEL		"Microsoft Entra ID token endpoint"

/* 8-4-4-4-12 hexadecimal digits */
bool
fu_azure_valid_guid(const char *s)
{
	static const int groups[] = {8, 4, 4, 4, 12};

	for (int g = 0; g < 5; g++)
	{
		for (int i = 0; i < groups[g]; i++, s++)
			if (!isxdigit((unsigned char) *s))
				return false;
		if (*s != (g < 4 ? '-' : '\0'))
			return false;
		s++;
	}
	return true;
}

void
fu_azure_check_guid(const char *name, const char *value)
{
	if (!fu_azure_valid_guid(value))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for option \"%s\": \"%s\"", name, value),
				 errhint("Option \"%s\" is a GUID such as 4f8a2c61-9d3e-4b7a-8c15-2e6f0a9b3d47.",
						 name)));
}

/* A secret or token goes into a form or a header: no control characters */
void
fu_azure_check_secret(const char *name, const char *value)
{
	if (value[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" is empty", name)));
	for (const unsigned char *p = (const unsigned char *) value; *p; p++)
		if (*p < 0x20 || *p == 0x7f ||
			(*p == ' ' && strcmp(name, "access_token") == 0))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid value for option \"%s\"", name),
					 errdetail("The value contains a control character or a space.")));
}

static void
set_token(const FuAuth *auth, FuCredential *cred, const char *token,
		  const char *identity, const char *secret)
{
	/* all of it lives as long as the cached credential: in auth->cxt */
	MemoryContext old = MemoryContextSwitchTo(auth->cxt);
	AzureToken *t = palloc(sizeof(AzureToken));

	t->access_token = pstrdup(token);
	cred->data = t;
	cred->identity = pstrdup(identity);
	cred->secrets = list_make1(t->access_token);
	if (secret)
		cred->secrets = lappend(cred->secrets, pstrdup(secret));
	MemoryContextSwitchTo(old);
}

/* ---------- access_token ---------- */

static bool
token_applies(const FuAuth *auth)
{
	return fu_auth_option(auth, "access_token") != NULL;
}

static void
token_obtain(const FuAuth *auth, FuCredential *cred)
{
	static const char *const others[] = {"tenant_id", "client_id", "client_secret", NULL};

	for (const char *const *o = others; *o; o++)
		if (fu_auth_option(auth, *o) != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
					 errmsg("the user mapping for server \"%s\" has both access_token and %s",
							auth->server->servername, *o),
					 errhint("Use either access_token or tenant_id, client_id and client_secret.")));
	/* the one token serves every audience: the caller chose it so */
	set_token(auth, cred, fu_auth_option(auth, "access_token"), "access token", NULL);
}

static char *
token_describe(const FuAuth *auth)
{
	return pstrdup("Azure access token");
}

const FuCredentialProvider fu_azure_access_token = {
	.name = "Azure access token",
	.applies = token_applies,
	.obtain = token_obtain,
	.describe = token_describe,
};

/* ---------- the client-credentials flow ---------- */

/* An answer of the token endpoint that is worth another try */
FuVerdict
fu_azure_classify_token(FuRequest *req, int *retry_after_ms)
{
	long		status = req->http.status;

	if (status >= 200 && status < 300)
		return FU_VERDICT_OK;
	*retry_after_ms = fu_retry_after_ms(req, "Retry-After");
	if (status == 429)
		return FU_VERDICT_THROTTLED;
	if (status >= 500 || status == 408)
		return FU_VERDICT_TRANSIENT;
	return FU_VERDICT_FAILED;
}

static void
obtain_with_secret(const FuAuth *auth, FuCredential *cred, const char *tenant,
				   const char *client, const char *secret, const char *origin)
{
	static const char *const keys[] = {
		"access_token", "expires_in", "error", "error_description", NULL
	};
	const char *scope = auth->audience ? auth->audience : AZURE_ARM_SCOPE;
	StringInfoData body;
	FuRequest  *req;
	TimestampTz now;
	char	   *v[4] = {NULL, NULL, NULL, NULL};
	char	   *identity = psprintf("client %s in tenant %s", client, tenant);
	int64		lifetime = 3600;

	if (!fu_azure_valid_guid(tenant) || !fu_azure_valid_guid(client))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid Azure %s \"%s\" in %s",
						fu_azure_valid_guid(tenant) ? "client id" : "tenant id",
						fu_api_text(fu_azure_valid_guid(tenant) ? client : tenant), origin),
				 errhint("Tenant and client ids are GUIDs such as 4f8a2c61-9d3e-4b7a-8c15-2e6f0a9b3d47.")));
	fu_azure_check_secret("client_secret", secret);

	initStringInfo(&body);
	appendStringInfo(&body, "grant_type=client_credentials&client_id=%s&client_secret=%s&scope=%s",
					 fu_url_encode(client), fu_url_encode(secret), fu_url_encode(scope));
	req = fu_auth_request(auth, TOKEN_LABEL, "POST",
						  fu_base_url(auth->server, AZURE_LOGIN_HOST),
						  psprintf("%s/oauth2/v2.0/token", tenant));
	fu_request_body(req, "application/x-www-form-urlencoded", body.data, body.len);
	now = GetCurrentTimestamp();
	if (fu_auth_send(auth, req, NULL) != FU_VERDICT_OK ||
		!fu_json_get_strings(req->http.resp, req->http.resp_len, keys, v) ||
		v[0] == NULL)
	{
		char	   *desc = NULL;
		char	   *cut;

		if (req->http.resp && fu_json_get_strings(req->http.resp, req->http.resp_len, keys, v))
			desc = v[3];
		/* Entra appends trace and correlation ids: keep the sentence */
		if (desc && (cut = strstr(desc, "\r\n")) != NULL)
			*cut = '\0';
		ereport(ERROR,
				(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
				 errmsg("could not obtain an Azure access token for %s", identity),
				 v[2] || desc ?
				 errdetail("%s%s%s",
						   v[2] ? fu_redact(fu_api_text(v[2]), list_make1((char *) secret)) : "",
						   v[2] && desc ? ": " : "",
						   desc ? fu_redact(fu_api_text(desc), list_make1((char *) secret)) : "") :
				 errdetail("HTTP status %ld.", req->http.status),
				 v[2] && strcmp(v[2], "invalid_client") == 0 ?
				 errhint("Check client_secret (the secret's value, not its id) of %s.", origin) :
				 v[2] && strcmp(v[2], "unauthorized_client") == 0 ?
				 errhint("Check client_id and tenant_id of %s.", origin) : 0));
	}
	if (v[1] != NULL)
	{
		/* a huge expires_in would overflow the expiry */
		char	   *end;
		long		secs = strtol(v[1], &end, 10);

		if (end == v[1] || *end != '\0' || secs <= 0 || secs > INT_MAX)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
					 errmsg("malformed response from the %s for %s", TOKEN_LABEL, identity),
					 errdetail("Member expires_in is not a positive number of seconds.")));
		lifetime = secs;
	}
	set_token(auth, cred, v[0], identity, secret);
	cred->expires = now + lifetime * USECS_PER_SEC;
}

static bool
secret_applies(const FuAuth *auth)
{
	return fu_auth_option(auth, "client_secret") != NULL ||
		fu_auth_option(auth, "client_id") != NULL ||
		fu_auth_option(auth, "tenant_id") != NULL;
}

static void
secret_obtain(const FuAuth *auth, FuCredential *cred)
{
	static const char *const needed[] = {"tenant_id", "client_id", "client_secret", NULL};

	for (const char *const *o = needed; *o; o++)
		if (fu_auth_option(auth, *o) == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
					 errmsg("the user mapping for server \"%s\" needs %s",
							auth->server->servername, *o),
					 errhint("An Entra ID application signs in with tenant_id, client_id and client_secret.")));
	obtain_with_secret(auth, cred, fu_auth_option(auth, "tenant_id"),
					   fu_auth_option(auth, "client_id"),
					   fu_auth_option(auth, "client_secret"), "the user mapping");
}

static char *
secret_describe(const FuAuth *auth)
{
	return psprintf("Azure client credentials of client %s in tenant %s",
					fu_auth_option(auth, "client_id") ? fu_auth_option(auth, "client_id") : "?",
					fu_auth_option(auth, "tenant_id") ? fu_auth_option(auth, "tenant_id") : "?");
}

const FuCredentialProvider fu_azure_client_secret = {
	.name = "Azure client credentials",
	.applies = secret_applies,
	.obtain = secret_obtain,
	.describe = secret_describe,
};

/* ---------- the server's own ---------- */

static bool
server_applies(const FuAuth *auth)
{
	return fu_auth_server_credentials(auth);
}

static void
server_obtain(const FuAuth *auth, FuCredential *cred)
{
	const char *tenant = getenv("AZURE_TENANT_ID");
	const char *client = getenv("AZURE_CLIENT_ID");
	const char *secret = getenv("AZURE_CLIENT_SECRET");

	if (!tenant || !client || !secret || !*tenant || !*client || !*secret)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
				 errmsg("no Azure credentials in the environment of the database server"),
				 errhint("use_server_credentials reads AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET of the server process.")));
	obtain_with_secret(auth, cred, tenant, client, secret,
					   "the AZURE_* variables of the database server");
}

static char *
server_describe(const FuAuth *auth)
{
	const char *client = getenv("AZURE_CLIENT_ID");

	return psprintf("Azure client credentials of client %s (AZURE_* of the database server)",
					client ? client : "?");
}

static char *
server_principal(const FuAuth *auth)
{
	const char *tenant = getenv("AZURE_TENANT_ID");
	const char *client = getenv("AZURE_CLIENT_ID");

	return psprintf("%s/%s", tenant ? tenant : "", client ? client : "");
}

const FuCredentialProvider fu_azure_server_credentials = {
	.name = "Azure server credentials",
	.applies = server_applies,
	.obtain = server_obtain,
	.describe = server_describe,
	.principal = server_principal,
};
