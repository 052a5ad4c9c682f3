/*-------------------------------------------------------------------------
 *
 * fuzz_azure_error.c
 *		  libFuzzer harness of Azure's answers that are not rows: the ARM
 *		  error envelope and Cost Management's retry-after headers
 *		  (src/azure/provider.c, through src/json.c and src/request.c), and
 *		  the Microsoft Entra ID token endpoint's answers and errors of the
 *		  client-credentials flow (src/azure/credentials.c).
 *
 * Input: a byte of settings (bit 0: 0 an API error, 1 a token request),
 * a byte choosing the HTTP status and the verdict, then the response
 * headers, a NUL byte and the body.  The network is fu_auth_send below.
 * Checks: classify never calls an error OK, errors are raised, the client
 * secret is never in an error, and a token obtained expires.
 *
 *-------------------------------------------------------------------------
 */
/* FUZZ-LINK: src/json.c src/message.c src/period.c src/request.c */
/* FUZZ-LINK: src/http.c src/option.c src/quals.c */
/* FUZZ-LINK: src/azure/docs.c */
/* FUZZ-LINK: src/azure/usage.c src/azure/metrics.c src/azure/focus.c */
/* FUZZ-LINK: src/focus.c src/derived.c src/jsonwalk.c src/values.c */
#include "../../src/azure/provider.c"
#include "../../src/azure/credentials.c"

#include "pg_stub.h"

#define TENANT	"4f8a2c61-9d3e-4b7a-8c15-2e6f0a9b3d47"
#define CLIENT	"9d3e4b7a-8c15-2e6f-0a9b-3d474f8a2c61"
#define SECRET	"Xy8Q~fuzz.client-secret_value~AbCdEf"

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

/* ---------- replaced: the engine's auth.c and the network ---------- */

char *
fu_auth_option(const FuAuth *auth, const char *name)
{
	if (strcmp(name, "tenant_id") == 0)
		return TENANT;
	if (strcmp(name, "client_id") == 0)
		return CLIENT;
	if (strcmp(name, "client_secret") == 0)
		return SECRET;
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
	req->verdict = fu_azure_classify_token(req, &retry);
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
} Input;

static void
classify(void *arg)
{
	Input	   *in = (Input *) arg;
	int			retry_after_ms = -1;
	FuVerdict	v = azure_classify(in->req, &retry_after_ms);

	if (v == FU_VERDICT_OK && (in->req->http.status < 200 || in->req->http.status >= 300))
		fu_fuzz_fail("HTTP status %ld classified OK", in->req->http.status);
}

static void
report(void *arg)
{
	Input	   *in = (Input *) arg;

	azure_report_error(in->req, NULL);
}

static void
obtain(void *arg)
{
	Input	   *in = (Input *) arg;

	fu_azure_client_secret.obtain(&in->auth, &in->cred);
}

static void
one(void *arg)
{
	Input	   *in = (Input *) arg;
	uint8_t		mode = in->size > 0 ? in->data[0] & 1 : 0;
	uint8_t		b1 = in->size > 1 ? in->data[1] : 0;
	size_t		skip = Min(in->size, 2);
	char	   *parts[2];
	size_t		lens[2];
	int			n;

	n = fu_fuzz_split(in->data + skip, in->size - skip, parts, lens, 2);
	cur.status = statuses[b1 & 15];
	cur.verdict = verdicts[(b1 >> 4) & 3];
	cur.headers = parts[0];
	cur.body = n > 1 ? parts[1] : NULL;
	cur.body_len = n > 1 ? lens[1] : 0;

	if (mode == 0)
	{
		FuRequest  *req;

		req = fu_request_create(CurrentMemoryContext,
								fu_fuzz_scan(&fu_source_azure_usage, &fu_provider_azure),
								&fu_provider_azure, "Azure Cost Management query",
								"POST", "https://management.azure.com/",
								"subscriptions/" TENANT "/providers/Microsoft.CostManagement/query");
		req->http.status = cur.status;
		req->http.resp = cur.body;
		req->http.resp_len = cur.body_len;
		req->http.resp_headers = cur.headers;
		req->http.throttles = 2;
		req->verdict = cur.verdict;
		in->req = req;
		fu_fuzz_try(classify, in);
		if (fu_fuzz_try(report, in))
			fu_fuzz_fail("report_error returned");
		return;
	}

	memset(&in->auth, 0, sizeof(in->auth));
	in->auth.provider = &fu_provider_azure;
	in->auth.server = palloc0(sizeof(ForeignServer));
	in->auth.server->servername = "fuzz";
	in->auth.audience = (b1 & 64) ? AZURE_METRICS_SCOPE : NULL;
	in->auth.cxt = AllocSetContextCreate(CurrentMemoryContext, "credentials",
										 ALLOCSET_SMALL_SIZES);
	memset(&in->cred, 0, sizeof(in->cred));
	in->cred.expires = DT_NOEND;
	if (fu_fuzz_try(obtain, in))
	{
		AzureToken *t = (AzureToken *) in->cred.data;

		if (t == NULL || t->access_token == NULL)
			fu_fuzz_fail("no token was obtained");
		if (in->cred.expires == DT_NOEND || !IS_VALID_TIMESTAMP(in->cred.expires))
			fu_fuzz_fail("the token expires at " INT64_FORMAT, in->cred.expires);
	}
	else if (strstr(fu_fuzz_last_error(), SECRET) != NULL)
		fu_fuzz_fail("the client secret in an error: %s", fu_fuzz_last_error());
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
