/*-------------------------------------------------------------------------
 *
 * fuzz_gcp_error.c
 *		  libFuzzer harness of Google's answers that are not rows: the error
 *		  envelope of the APIs (src/gcp/provider.c, through src/json.c), the
 *		  OAuth token endpoint's answers and errors, and the service account
 *		  key (src/gcp/credentials.c: the key's JSON, its token_uri).
 *
 * Input: a byte of settings (bits 0-1: 0 an API error, 1 a token endpoint
 * error, 2 a token request with a valid key, 3 with the key from the
 * input), a byte choosing the HTTP status and the verdict, then the
 * response headers, a NUL byte and the body; in mode 3 the key comes
 * first, then a NUL byte.  The network is fu_auth_send below; the RS256
 * signature (src/gcp/jwt.c, tested by test/gcp/jwt_test.sh) is replaced by
 * a fixed assertion.  Checks: classify never calls an error OK, errors are
 * raised, no secret (the private key, the assertion) is in a token
 * endpoint's error (modes 1 and 2), and a token
 * obtained is usable (no control character nor space) and expires.
 *
 *-------------------------------------------------------------------------
 */
/* FUZZ-LINK: src/json.c src/message.c src/period.c src/request.c */
/* FUZZ-LINK: src/http.c src/option.c src/quals.c */
/* FUZZ-LINK: src/gcp/docs.c */
/* FUZZ-LINK: src/gcp/monitoring.c src/gcp/bigquery.c src/gcp/focus.c */
/* FUZZ-LINK: src/focus.c src/derived.c src/jsonwalk.c src/values.c */
#include "../../src/gcp/provider.c"
#include "../../src/gcp/credentials.c"

#include "pg_stub.h"

#define ASSERTION	"eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJmdXp6In0.c2lnbmF0dXJlLXNlY3JldC14eXo"
#define PRIVATE_KEY	"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7fuzzkey\n-----END PRIVATE KEY-----\n"

static const char *const valid_key =
"{\"type\":\"service_account\",\"project_id\":\"acme-prod\",\"private_key_id\":\"1f2e3d\","
"\"private_key\":\"-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7fuzzkey\\n-----END PRIVATE KEY-----\\n\","
"\"client_email\":\"reader@acme-prod.iam.gserviceaccount.com\",\"client_id\":\"1\","
"\"token_uri\":\"https://oauth2.googleapis.com/token\"}";

static const long statuses[] = {200, 400, 401, 403, 404, 429, 500, 503, 408, 0, 204, 502, 504, 301, 418, 999};
static const FuVerdict verdicts[] = {FU_VERDICT_FAILED, FU_VERDICT_THROTTLED,
FU_VERDICT_TRANSIENT, FU_VERDICT_EXPIRED};

static struct
{
	long		status;
	char	   *headers;
	char	   *body;
	size_t		body_len;
	FuVerdict	verdict;
} cur;

/* ---------- replaced: the network, and the RS256 signature ---------- */

char *
fu_gcp_jwt_assertion(const char *private_key_pem, const char *key_id,
					 const char *client_email, const char *scopes,
					 const char *audience, int64 issued_at)
{
	return pstrdup(ASSERTION);
}

char *
fu_auth_option(const FuAuth *auth, const char *name)
{
	return NULL;
}

bool
fu_auth_server_credentials(const FuAuth *auth)
{
	return false;
}

FuRequest *
fu_auth_request(const FuAuth *auth, const char *label, const char *method,
				const char *base_url, const char *path)
{
	return fu_request_create(CurrentMemoryContext, NULL, auth->provider, label,
							 method, base_url, path);
}

FuVerdict
fu_auth_send(const FuAuth *auth, FuRequest *req, const FuCredential *signer)
{
	int			retry = -1;

	req->http.status = cur.status;
	req->http.resp = cur.body;
	req->http.resp_len = cur.body_len;
	req->http.resp_headers = cur.headers;
	/* as the engine: the provider classifies, the last verdict counts */
	req->verdict = fu_gcp_classify_token(req, &retry);
	if (req->verdict != FU_VERDICT_OK)
		req->verdict = cur.verdict;
	return req->verdict;
}

/* ---------- the harness ---------- */

typedef struct Input
{
	const uint8_t *data;
	size_t		size;
	FuRequest  *req;
	FuAuth		auth;
	FuCredential cred;
	const char *key;
} Input;

static void
classify(void *arg)
{
	Input	   *in = (Input *) arg;
	int			retry_after_ms = -1;
	FuVerdict	v = gcp_classify(in->req, &retry_after_ms);

	if (v == FU_VERDICT_OK && (in->req->http.status < 200 || in->req->http.status >= 300))
		fu_fuzz_fail("HTTP status %ld classified OK", in->req->http.status);
}

static void
report(void *arg)
{
	Input	   *in = (Input *) arg;

	if (in->req->scan)
		gcp_report_error(in->req, NULL);
	report_token_error(in->req, "reader@acme-prod.iam.gserviceaccount.com",
					   list_make2(ASSERTION, PRIVATE_KEY));
}

static void
obtain(void *arg)
{
	Input	   *in = (Input *) arg;

	(void) describe_key(in->key, "");
	obtain_with_key(&in->auth, &in->cred, in->key,
					"invalid value for option \"service_account_key\"",
					"option \"service_account_key\"");
}

static void
no_secret(void)
{
	/* whole secrets: the endpoint never sees the key, parts of it are input */
	if (strstr(fu_fuzz_last_error(), ASSERTION) != NULL ||
		strstr(fu_fuzz_last_error(), PRIVATE_KEY) != NULL)
		fu_fuzz_fail("a secret in the error: %s", fu_fuzz_last_error());
}

static void
one(void *arg)
{
	Input	   *in = (Input *) arg;
	uint8_t		mode = in->size > 0 ? in->data[0] & 3 : 0;
	uint8_t		b1 = in->size > 1 ? in->data[1] : 0;
	size_t		skip = Min(in->size, 2);
	char	   *parts[3];
	size_t		lens[3];
	int			n;
	int			first = 0;

	n = fu_fuzz_split(in->data + skip, in->size - skip, parts, lens,
					  mode == 3 ? 3 : 2);
	in->key = valid_key;
	if (mode == 3)
	{
		in->key = parts[0];
		first = 1;
	}
	cur.status = statuses[b1 & 15];
	cur.verdict = verdicts[(b1 >> 4) & 3];
	cur.headers = first < n ? parts[first] : NULL;
	cur.body = first + 1 < n ? parts[first + 1] : NULL;
	cur.body_len = first + 1 < n ? lens[first + 1] : 0;

	if (mode <= 1)
	{
		FuRequest  *req;

		req = fu_request_create(CurrentMemoryContext,
								mode == 0 ? fu_fuzz_scan(&fu_source_gcp_metrics, &fu_provider_gcp) : NULL,
								&fu_provider_gcp,
								mode == 0 ? "Cloud Monitoring timeSeries.list" : TOKEN_LABEL,
								"GET", "https://monitoring.googleapis.com/", "v3/projects/p/timeSeries");
		req->http.status = cur.status;
		req->http.resp = cur.body;
		req->http.resp_len = cur.body_len;
		req->http.resp_headers = cur.headers;
		req->http.throttles = 3;
		req->verdict = cur.verdict;
		in->req = req;
		fu_fuzz_try(classify, in);
		if (fu_fuzz_try(report, in))
			fu_fuzz_fail("report_error returned");
		/* the API errors have no secrets to hide here (no credentials) */
		if (mode == 1)
			no_secret();
		return;
	}

	memset(&in->auth, 0, sizeof(in->auth));
	in->auth.provider = &fu_provider_gcp;
	in->auth.server = palloc0(sizeof(ForeignServer));
	in->auth.server->servername = "fuzz";
	in->auth.cxt = AllocSetContextCreate(CurrentMemoryContext, "credentials",
										 ALLOCSET_SMALL_SIZES);
	memset(&in->cred, 0, sizeof(in->cred));
	in->cred.expires = DT_NOEND;
	if (fu_fuzz_try(obtain, in))
	{
		GcpToken   *t = (GcpToken *) in->cred.data;

		if (t == NULL || t->access_token == NULL || token_problem(t->access_token))
			fu_fuzz_fail("an unusable token was obtained");
		if (in->cred.expires == DT_NOEND || !IS_VALID_TIMESTAMP(in->cred.expires))
			fu_fuzz_fail("the token expires at " INT64_FORMAT, in->cred.expires);
	}
	else if (mode == 2)
		no_secret();			/* mode 3's key is the input's: anything goes */
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Input		in;

	memset(&in, 0, sizeof(in));
	in.data = data;
	in.size = size;
	fu_fuzz_one(one, &in);
	return 0;
}
