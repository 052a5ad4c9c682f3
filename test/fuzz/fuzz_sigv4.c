/*-------------------------------------------------------------------------
 *
 * fuzz_sigv4.c
 *		  libFuzzer harness of AWS Signature Version 4: the canonical
 *		  request (URI normalisation and encoding, query decoding, sorting
 *		  and re-encoding, header folding and joining) of src/aws/sigv4.c,
 *		  and src/aws/sign.c, which splits the URL of a request and signs its
 *		  headers.
 *
 * Input: a byte of settings (bit 0 normalize the path, bit 1 sign through
 * sign.c's fu_aws_authorize, bit 2 temporary credentials, bit 3 the
 * x-amz-date from the input), then fields separated by NUL bytes: method,
 * path (sign.c: the URL), query, service/region, x-amz-date, then headers
 * as "Name: value" (up to 6), the body last.  Checks on a signature:
 * every part present; the canonical URI and query only unreserved
 * characters, '/' and %XX; a normalised path without empty, "." or ".."
 * segments; the query sorted and re-signing the canonical query gives it
 * back; signed headers lower-case, sorted and unique; the payload hash the
 * body's; the string to sign the canonical request's hash; the
 * Authorization header well formed; the same input signs the same.
 *
 *-------------------------------------------------------------------------
 */
/* FUZZ-LINK: src/aws/sigv4.c src/request.c src/option.c src/quals.c */
/* FUZZ-LINK: src/message.c */
#include "../../src/aws/sign.c"

#include "pg_stub.h"

#define NFIELDS 12
#define AMZ_DATE "20260615T000000Z"

typedef struct Input
{
	const uint8_t *data;
	size_t		size;
	FuRequest  *req;
	FuCredential *cred;
} Input;

static bool
canonical_chars(const char *s, size_t len, const char *extra)
{
	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (c == '%')
		{
			if (i + 2 >= len || s[i + 1] == '\0' || s[i + 2] == '\0' ||
				!strchr("0123456789ABCDEF", s[i + 1]) ||
				!strchr("0123456789ABCDEF", s[i + 2]))
				return false;
			i += 2;
		}
		else if (!(isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' ||
				   (c != '\0' && strchr(extra, c) != NULL)))
			return false;
	}
	return true;
}

static bool
is_hex64(const char *s)
{
	if (strlen(s) != 64)
		return false;
	for (; *s; s++)
		if (!strchr("0123456789abcdef", *s))
			return false;
	return true;
}

/* the checks on a signature of req (see the header comment) */
static void
check_result(const FuSigV4Request *req, const FuSigV4Credentials *cred,
			 const char *amz_date, bool normalize, FuSigV4Result *res)
{
	char	   *cr;
	char	   *line[4];
	char	   *p;
	char		hash[65];
	char	   *expect;
	char	   *last_hdrs;
	char	   *signed_line;
	char	   *payload;

	if (!res->canonical_request || !res->string_to_sign || !res->signature ||
		!res->signed_headers || !res->authorization)
		fu_fuzz_fail("a signature without all its parts");
	cr = pstrdup(res->canonical_request);

	/* method, URI, query, then the headers */
	p = cr;
	for (int i = 0; i < 3; i++)
	{
		char	   *nl = strchr(p, '\n');

		if (nl == NULL)
			fu_fuzz_fail("canonical request has fewer than 3 lines");
		*nl = '\0';
		line[i] = p;
		p = nl + 1;
	}
	line[3] = p;
	if (strcmp(line[0], req->method) != 0)
		fu_fuzz_fail("canonical method \"%s\" is not \"%s\"", line[0], req->method);
	if (line[1][0] != '/' || !canonical_chars(line[1], strlen(line[1]), "/"))
		fu_fuzz_fail("canonical URI \"%s\"", line[1]);
	if (normalize)
	{
		char	   *u = pstrdup(line[1]);
		size_t		ulen = strlen(u);

		if (strstr(u, "//") || strstr(u, "/./") || strstr(u, "/../") ||
			(ulen >= 2 && strcmp(u + ulen - 2, "/.") == 0) ||
			(ulen >= 3 && strcmp(u + ulen - 3, "/..") == 0))
			fu_fuzz_fail("normalised URI \"%s\"", line[1]);
	}
	if (!canonical_chars(line[2], strlen(line[2]), "=&"))
		fu_fuzz_fail("canonical query \"%s\"", line[2]);
	if (line[2][0])
	{
		char	   *q = pstrdup(line[2]);
		char	   *save = NULL;
		char	   *prev = NULL;

		for (char *kv = strtok_r(q, "&", &save); kv; kv = strtok_r(NULL, "&", &save))
		{
			char	   *eq = strchr(kv, '=');

			if (eq == NULL || strchr(eq + 1, '=') != NULL)
				fu_fuzz_fail("canonical query pair \"%s\"", kv);
			if (prev)
			{
				char	   *pe = strchr(prev, '=');
				int			c;

				*pe = '\0';
				*eq = '\0';
				c = strcmp(prev, kv);
				if (c == 0)
					c = strcmp(pe + 1, eq + 1);
				*pe = '=';
				*eq = '=';
				if (c > 0)
					fu_fuzz_fail("canonical query not sorted: \"%s\" before \"%s\"", prev, kv);
			}
			prev = kv;
		}
	}

	/* headers, an empty line, signed headers, payload hash */
	last_hdrs = strstr(line[3], "\n\n");
	if (last_hdrs == NULL)
		fu_fuzz_fail("no blank line after the canonical headers");
	signed_line = last_hdrs + 2;
	payload = strchr(signed_line, '\n');
	if (payload == NULL)
		fu_fuzz_fail("no payload hash line");
	*payload++ = '\0';
	if (strcmp(signed_line, res->signed_headers) != 0)
		fu_fuzz_fail("signed headers \"%s\" and \"%s\"", signed_line, res->signed_headers);
	fu_sigv4_sha256_hex(req->body, req->body_len, hash);
	if (strcmp(payload, hash) != 0)
		fu_fuzz_fail("payload hash \"%s\" is not the body's", payload);
	{
		char	   *s = pstrdup(res->signed_headers);
		char	   *save = NULL;
		char	   *prev = NULL;

		for (char *h = strtok_r(s, ";", &save); h; h = strtok_r(NULL, ";", &save))
		{
			for (char *c = h; *c; c++)
				if (*c >= 'A' && *c <= 'Z')
					fu_fuzz_fail("signed header \"%s\" not lower case", h);
			if (prev && strcmp(prev, h) >= 0)
				fu_fuzz_fail("signed headers not sorted and unique: %s", res->signed_headers);
			prev = h;
		}
	}

	/* the string to sign and the Authorization header */
	fu_sigv4_sha256_hex(res->canonical_request, strlen(res->canonical_request), hash);
	expect = psprintf("AWS4-HMAC-SHA256\n%s\n%.8s/%s/%s/aws4_request\n%s",
					  amz_date, amz_date, cred->region, cred->service, hash);
	if (strcmp(expect, res->string_to_sign) != 0)
		fu_fuzz_fail("string to sign \"%s\", expected \"%s\"", res->string_to_sign, expect);
	if (!is_hex64(res->signature))
		fu_fuzz_fail("signature \"%s\"", res->signature);
	expect = psprintf("AWS4-HMAC-SHA256 Credential=%s/%.8s/%s/%s/aws4_request, SignedHeaders=%s, Signature=%s",
					  cred->access_key_id, amz_date, cred->region, cred->service,
					  res->signed_headers, res->signature);
	if (strcmp(expect, res->authorization) != 0)
		fu_fuzz_fail("authorization \"%s\"", res->authorization);
}

/* sign directly with sigv4.c */
static void
sign_direct(char **f, size_t *lens, int n, uint8_t settings)
{
	FuSigV4Header headers[8];
	FuSigV4Request req;
	FuSigV4Credentials cred;
	FuSigV4Result res;
	FuSigV4Result again;
	char	   *scope = pstrdup(f[3]);
	char	   *slash = strchr(scope, '/');
	const char *amz_date = (settings & 8) ? f[4] : AMZ_DATE;
	bool		normalize = (settings & 1) != 0;
	int			nh = 0;
	int			rc;

	headers[nh++] = (FuSigV4Header) {"Host", "ce.us-east-1.amazonaws.com"};
	headers[nh++] = (FuSigV4Header) {"X-Amz-Date", AMZ_DATE};
	for (int i = 5; i < n - 1 && nh < 8; i++)
	{
		char	   *colon = strchr(f[i], ':');

		/*
		 * Not a header without ':', nor one whose name has ';', which
		 * sigv4.c signs though no HTTP header name can have it (the
		 * provider code only signs constant names)
		 */
		if (colon == NULL || memchr(f[i], ';', colon - f[i]) != NULL)
			continue;
		*colon = '\0';
		headers[nh++] = (FuSigV4Header) {f[i], colon + 1};
	}
	if ((settings & 4) && nh < 8)
		headers[nh++] = (FuSigV4Header) {"X-Amz-Security-Token", "AQoDYXdzEPT//////////wEXAMPLE"};
	if (slash)
		*slash++ = '\0';
	memset(&req, 0, sizeof(req));
	req.method = f[0];
	req.path = f[1];
	req.query = f[2];
	req.headers = headers;
	req.nheaders = Min(nh, 8);
	req.body = (const unsigned char *) f[n - 1];
	req.body_len = lens[n - 1];
	cred.access_key_id = "AKIDEXAMPLE";
	cred.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
	cred.region = slash ? slash : "us-east-1";
	cred.service = scope;

	rc = fu_sigv4_sign(&req, &cred, amz_date, normalize, &res);
	if (rc != 0)
	{
		if (res.canonical_request || res.authorization || res.signature)
			fu_fuzz_fail("a failed signature left results");
		return;
	}
	check_result(&req, &cred, amz_date, normalize, &res);

	/* the same request signs the same */
	if (fu_sigv4_sign(&req, &cred, amz_date, normalize, &again) != 0 ||
		strcmp(again.canonical_request, res.canonical_request) != 0 ||
		strcmp(again.authorization, res.authorization) != 0)
		fu_fuzz_fail("signing twice differs");
	fu_sigv4_result_free(&again);

	/* the canonical query signs as itself: decoding and encoding agree */
	{
		char	   *q = strchr(res.canonical_request, '\n');
		char	   *canon_query;
		char	   *end;

		q = strchr(q + 1, '\n') + 1;
		end = strchr(q, '\n');
		canon_query = pnstrdup(q, end - q);
		req.query = canon_query;
		if (fu_sigv4_sign(&req, &cred, amz_date, normalize, &again) != 0)
			fu_fuzz_fail("the canonical query \"%s\" does not sign", canon_query);
		q = strchr(again.canonical_request, '\n');
		q = strchr(q + 1, '\n') + 1;
		if (strncmp(q, canon_query, strlen(canon_query)) != 0 ||
			q[strlen(canon_query)] != '\n')
			fu_fuzz_fail("the canonical query \"%s\" re-signs differently", canon_query);
		fu_sigv4_result_free(&again);
	}
	fu_sigv4_result_free(&res);
	fu_sigv4_result_free(&res);	/* safe twice, says sigv4.h */
}

static void
authorize(void *arg)
{
	Input	   *in = (Input *) arg;

	fu_aws_authorize(in->req, in->cred);
}

/* sign a request through sign.c, as the engine does before every attempt */
static void
sign_request(Input *in, char **f, size_t *lens, int n, uint8_t settings)
{
	FuRequest  *req = palloc0(sizeof(FuRequest));
	FuCredential *cred = palloc0(sizeof(FuCredential));
	AwsKeys    *keys = palloc0(sizeof(AwsKeys));
	List	   *sent = NIL;
	int			nsent;

	req->label = "AWS fuzz";
	req->scope = f[3];
	req->http.method = f[0];
	req->http.url = f[1];
	for (int i = 5; i < n - 1; i++)
		sent = lappend(sent, f[i]);
	req->http.headers = sent;
	nsent = list_length(sent);
	req->http.body = f[n - 1];
	req->http.body_len = lens[n - 1];
	keys->access_key_id = "AKIDEXAMPLE";
	keys->secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
	keys->session_token = (settings & 4) ? "AQoDYXdzEPT//////////wEXAMPLE" : NULL;
	cred->data = keys;
	in->req = req;
	in->cred = cred;
	if (fu_fuzz_try(authorize, in))
	{
		char	   *auth = llast(req->http.headers);

		if (list_length(req->http.headers) != nsent + 3 + (keys->session_token != NULL) ||
			strncmp(auth, "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/",
					strlen("Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")) != 0)
			fu_fuzz_fail("signed headers: %s", auth);
	}
}

static void
one(void *arg)
{
	Input	   *in = (Input *) arg;
	uint8_t		settings = in->size > 0 ? in->data[0] : 0;
	char	   *f[NFIELDS];
	size_t		lens[NFIELDS];
	int			n;

	n = fu_fuzz_split(in->data + (in->size > 0), in->size - (in->size > 0),
					  f, lens, NFIELDS);
	while (n < 6)
	{
		f[n] = fu_fuzz_copy("", 0);
		lens[n++] = 0;
	}
	if (settings & 2)
		sign_request(in, f, lens, n, settings);
	else
		sign_direct(f, lens, n, settings);
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Input		in = {data, size, NULL, NULL};

	fu_fuzz_one(one, &in);
	return 0;
}
