/*-------------------------------------------------------------------------
 *
 * fuzz_aws_error.c
 *		  libFuzzer harness of AWS error answers: the JSON error document
 *		  (botocore's __type rules, through jansson in src/json.c), the
 *		  Query protocol's XML ErrorResponse (src/aws/xml.c), the
 *		  x-amzn-query-error and Retry-After headers (src/http.c,
 *		  src/request.c), and how src/aws/provider.c classifies the answer
 *		  and words its error.
 *
 * Input: a byte choosing the HTTP status, a byte choosing the verdict the
 * error is reported with and the credentials, then the response headers
 * ("Name: value" lines), a NUL byte, and the body.  Checks: classify never
 * calls an error OK, report_error always raises, and no secret of the
 * credentials (when there are some) appears in the error it raises.
 *
 *-------------------------------------------------------------------------
 */
/* FUZZ-LINK: src/json.c src/message.c src/period.c src/request.c */
/* FUZZ-LINK: src/http.c src/option.c src/quals.c src/aws/xml.c */
/* FUZZ-LINK: src/aws/credentials.c src/aws/sts.c */
/* FUZZ-LINK: src/aws/docs.c */
/* FUZZ-LINK: src/aws/ce.c src/aws/ce_results.c src/aws/cost.c src/aws/cost_forecast.c */
/* FUZZ-LINK: src/aws/cost_by_resource.c src/aws/metrics.c src/aws/metrics_window.c */
/* FUZZ-LINK: src/aws/cloudwatch.c src/aws/focus.c src/focus.c src/derived.c */
/* FUZZ-LINK: src/jsonwalk.c src/values.c */
#include "../../src/aws/provider.c"

#include "pg_stub.h"

static const long statuses[] = {200, 400, 403, 404, 429, 500, 503, 401, 302, 0, 204, 502, 504, 413, 408, 999};
static const FuVerdict verdicts[] = {FU_VERDICT_FAILED, FU_VERDICT_THROTTLED,
FU_VERDICT_TRANSIENT, FU_VERDICT_EXPIRED};

#define SECRET_KEY	"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define SESSION_TOKEN "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI"

typedef struct Input
{
	const uint8_t *data;
	size_t		size;
	FuRequest  *req;
	const FuCredential *cred;
} Input;

static void
report(void *arg)
{
	Input	   *in = (Input *) arg;

	fu_provider_aws.report_error(in->req, in->cred);
}

static void
classify(void *arg)
{
	Input	   *in = (Input *) arg;
	int			retry_after_ms = -1;
	FuVerdict	v = fu_provider_aws.classify(in->req, &retry_after_ms);

	if (v == FU_VERDICT_OK && (in->req->http.status < 200 || in->req->http.status >= 300))
		fu_fuzz_fail("HTTP status %ld classified OK", in->req->http.status);
	if (retry_after_ms < -1)
		fu_fuzz_fail("retry after %d ms", retry_after_ms);
}

static void
one(void *arg)
{
	Input	   *in = (Input *) arg;
	uint8_t		b0 = in->size > 0 ? in->data[0] : 0;
	uint8_t		b1 = in->size > 1 ? in->data[1] : 0;
	size_t		skip = Min(in->size, 2);
	char	   *parts[2];
	size_t		lens[2];
	int			n;
	FuRequest  *req;
	FuCredential *cred = NULL;

	n = fu_fuzz_split(in->data + skip, in->size - skip, parts, lens, 2);
	req = fu_request_create(CurrentMemoryContext, NULL, &fu_provider_aws,
							"AWS CloudWatch GetMetricData in us-east-1", "POST",
							"https://monitoring.us-east-1.amazonaws.com/", "/");
	req->http.status = statuses[b0 & 15];
	req->http.resp_headers = parts[0];
	req->http.resp = n > 1 ? parts[1] : NULL;
	req->http.resp_len = n > 1 ? lens[1] : 0;
	req->http.throttles = b0 >> 4;
	req->verdict = verdicts[b1 & 3];
	if (b1 & 4)
	{
		AwsKeys    *keys = palloc0(sizeof(AwsKeys));

		cred = palloc0(sizeof(FuCredential));
		keys->access_key_id = "ASIAIOSFODNN7EXAMPLE";
		keys->secret_access_key = SECRET_KEY;
		keys->session_token = SESSION_TOKEN;
		cred->method = (b1 & 8) ? fu_aws_assume_role.name : fu_aws_static_keys.name;
		cred->identity = "arn:aws:sts::123456789012:assumed-role/cost-reader/finops_usage";
		cred->expires = DT_NOEND;
		cred->secrets = list_make2(keys->secret_access_key, keys->session_token);
		cred->data = keys;
	}
	in->req = req;
	in->cred = cred;

	fu_fuzz_try(classify, in);
	if (fu_fuzz_try(report, in))
		fu_fuzz_fail("report_error returned");
	if (cred != NULL &&
		(strstr(fu_fuzz_last_error(), SECRET_KEY) != NULL ||
		 strstr(fu_fuzz_last_error(), SESSION_TOKEN) != NULL))
		fu_fuzz_fail("a secret in the error: %s", fu_fuzz_last_error());
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Input		in = {data, size, NULL, NULL};

	fu_fuzz_one(one, &in);
	return 0;
}
