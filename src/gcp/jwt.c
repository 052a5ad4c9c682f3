/*-------------------------------------------------------------------------
 *
 * jwt.c
 *		  The JWT assertion a service account trades for an access token
 *		  (OAuth 2.0 JWT bearer grant, RFC 7523): header and claims as
 *		  base64url JSON, signed RS256 with the key's private_key.
 *
 * The signing itself is rs256.c's, outside PostgreSQL, so that it holds no
 * OpenSSL object when an error is raised here.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "gcp.h"
#include "rs256.h"
#include "utils/json.h"

/* Google takes assertions for at most one hour */
#define JWT_LIFETIME_SECS	3600

/* base64url of len bytes, appended to buf */
static void
append_base64url(StringInfo buf, const unsigned char *data, size_t len)
{
	enlargeStringInfo(buf, FU_BASE64URL_SIZE(len));
	buf->len += fu_base64url_encode(data, len, buf->data + buf->len);
}

char *
fu_gcp_jwt_assertion(const char *private_key_pem, const char *key_id,
					 const char *client_email, const char *scopes,
					 const char *audience, int64 issued_at)
{
	StringInfoData header;
	StringInfoData claims;
	StringInfoData jwt;
	unsigned char *sig;
	size_t		siglen;
	char		reason[256];

	/* escape_json quotes and escapes: member values come from the key */
	initStringInfo(&header);
	appendStringInfoString(&header, "{\"alg\":\"RS256\",\"typ\":\"JWT\"");
	if (key_id != NULL)
	{
		appendStringInfoString(&header, ",\"kid\":");
		escape_json(&header, key_id);
	}
	appendStringInfoChar(&header, '}');

	initStringInfo(&claims);
	appendStringInfoString(&claims, "{\"iss\":");
	escape_json(&claims, client_email);
	appendStringInfoString(&claims, ",\"scope\":");
	escape_json(&claims, scopes);
	appendStringInfoString(&claims, ",\"aud\":");
	escape_json(&claims, audience);
	appendStringInfo(&claims, ",\"iat\":" INT64_FORMAT ",\"exp\":" INT64_FORMAT "}",
					 issued_at, issued_at + JWT_LIFETIME_SECS);

	/* the signing input: base64url(header) "." base64url(claims) */
	initStringInfo(&jwt);
	append_base64url(&jwt, (unsigned char *) header.data, header.len);
	appendStringInfoChar(&jwt, '.');
	append_base64url(&jwt, (unsigned char *) claims.data, claims.len);

	if (fu_rs256_sign(private_key_pem, (unsigned char *) jwt.data, jwt.len,
					  &sig, &siglen, reason, sizeof(reason)) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid private_key in the GCP service account key"),
				 errdetail("The key was rejected: %s.", reason),
				 errhint("The private_key member must hold the unencrypted RSA key in PEM form, as in the key file Google issued.")));

	/* sig is malloc'd: freed even if appending it runs out of memory */
	PG_TRY();
	{
		appendStringInfoChar(&jwt, '.');
		append_base64url(&jwt, sig, siglen);
	}
	PG_FINALLY();
	{
		free(sig);
	}
	PG_END_TRY();

	pfree(header.data);
	pfree(claims.data);
	return jwt.data;
}
