/*-------------------------------------------------------------------------
 *
 * sign.c
 *		  Authorize an AWS request: SigV4 over the request as it will be
 *		  sent, with a fresh time for every attempt.
 *
 * Requests are signed for the real service and region (the request's
 * scope, "service/region") even when the server's endpoint option sends
 * them elsewhere, as the SDKs do.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <time.h>

#include "aws.h"
#include "sigv4.h"

#define MAX_SIGNED_HEADERS 16

/* Split "scheme://host[:port]/path?query" into host[:port], path, query */
static void
split_url(const char *url, char **host, char **path, char **query)
{
	const char *p = strstr(url, "://");
	const char *slash;
	char	   *q;

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
	/* user information is not part of the Host header */
	if (strchr(*host, '@'))
		*host = pstrdup(strrchr(*host, '@') + 1);
	q = strchr(*host, '?');
	if (q)
		*q = '\0';
	*query = NULL;
	q = strchr(*path, '?');
	if (q)
	{
		*q = '\0';
		*query = q + 1;
	}
}

void
fu_aws_authorize(FuRequest *req, const FuCredential *cred)
{
	FuHttpRequest *http = &req->http;
	AwsKeys    *keys;
	FuSigV4Header headers[MAX_SIGNED_HEADERS];
	FuSigV4Request sreq;
	FuSigV4Credentials scred;
	FuSigV4Result res;
	char		amz_date[17];
	char	   *host;
	char	   *path;
	char	   *query;
	char	   *service;
	char	   *region;
	int			n = 0;
	ListCell   *lc;

	if (cred == NULL || req->scope == NULL || strchr(req->scope, '/') == NULL)
		elog(ERROR, "AWS request \"%s\" has no credentials or signing scope",
			 req->label);
	keys = (AwsKeys *) cred->data;
	service = pstrdup(req->scope);
	region = strchr(service, '/');
	*region++ = '\0';

	split_url(http->url, &host, &path, &query);
	fu_sigv4_amz_date(time(NULL), amz_date);

	/* what the engine set (Content-Type, the operation's headers), signed */
	headers[n++] = (FuSigV4Header) {"Host", host};
	headers[n++] = (FuSigV4Header) {"X-Amz-Date", amz_date};
	foreach(lc, http->headers)
	{
		char	   *h = pstrdup((char *) lfirst(lc));
		char	   *colon = strchr(h, ':');

		if (colon == NULL)
			elog(ERROR, "unexpected header \"%s\"", h);
		if (n >= MAX_SIGNED_HEADERS - 2)
			elog(ERROR, "more than %d headers to sign", MAX_SIGNED_HEADERS - 2);
		*colon = '\0';
		colon++;
		while (*colon == ' ')
			colon++;
		headers[n++] = (FuSigV4Header) {h, colon};
	}
	if (keys->session_token)
		headers[n++] = (FuSigV4Header) {"X-Amz-Security-Token", keys->session_token};

	sreq.method = http->method;
	sreq.path = path;
	sreq.query = query;
	sreq.headers = headers;
	sreq.nheaders = n;
	sreq.body = (const unsigned char *) http->body;
	sreq.body_len = http->body_len;
	scred.access_key_id = keys->access_key_id;
	scred.secret_access_key = keys->secret_access_key;
	scred.region = region;
	scred.service = service;

	if (fu_sigv4_sign(&sreq, &scred, amz_date, true, &res) != 0)
	{
		fu_sigv4_result_free(&res);
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("could not sign a request to %s", req->label),
				 errdetail("The access key id, the region or a header contains characters SigV4 does not allow, or memory ran out.")));
	}

	/* the engine's headers are in the list already; add the others */
	http->headers = lappend(http->headers, psprintf("Host: %s", host));
	http->headers = lappend(http->headers, psprintf("X-Amz-Date: %s", amz_date));
	if (keys->session_token)
		http->headers = lappend(http->headers,
								psprintf("X-Amz-Security-Token: %s",
										 keys->session_token));
	http->headers = lappend(http->headers,
							psprintf("Authorization: %s", res.authorization));
	fu_sigv4_result_free(&res);
}
