/*-------------------------------------------------------------------------
 *
 * fuzz_aws_sts.c
 *		  libFuzzer harness of AWS AssumeRole: the STS XML answer (or its
 *		  ErrorResponse) read by src/aws/sts.c through src/aws/xml.c, the
 *		  Expiration through the date/time input, the temporary keys set up
 *		  by src/aws/credentials.c, and, with use_server_credentials, the
 *		  shared credentials file (~/.aws/credentials) it reads.
 *
 * Input: a byte of settings (bits 0-1 the HTTP status: 200, 403, 400,
 * 500; bit 2 the base keys come from the credentials file, which is the
 * first part of the input; bit 3 the answer counts as throttled), then
 * [the credentials file, a NUL byte,] the answer's body.  The network is
 * replaced by fu_auth_send below; the credentials file by AllocateFile.
 * Checks: keys obtained are not empty and have no control characters, the
 * identity is valid text, the expiry a finite timestamp; an error never shows the base keys' secret.
 *
 *-------------------------------------------------------------------------
 */
/* FUZZ-LINK: src/json.c src/message.c src/period.c src/request.c */
/* FUZZ-LINK: src/http.c src/option.c src/quals.c src/aws/xml.c */
/* FUZZ-LINK: src/aws/credentials.c src/aws/provider.c src/aws/docs.c */
/* FUZZ-LINK: src/aws/ce.c src/aws/ce_results.c src/aws/cost.c src/aws/cost_forecast.c */
/* FUZZ-LINK: src/aws/cost_by_resource.c src/aws/metrics.c src/aws/metrics_window.c */
/* FUZZ-LINK: src/aws/cloudwatch.c src/aws/focus.c src/focus.c src/derived.c */
/* FUZZ-LINK: src/jsonwalk.c src/values.c */
#include "../../src/aws/sts.c"

#include "mb/pg_wchar.h"
#include "pg_stub.h"
#include "storage/fd.h"

extern const FuProvider fu_provider_aws;

#define BASE_SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

static const long statuses[] = {200, 403, 400, 500};

static struct
{
	uint8_t		settings;
	char	   *file;
	size_t		file_len;
	char	   *body;
	size_t		body_len;
} cur;

/* ---------- the engine's auth.c, replaced ---------- */

char *
fu_auth_option(const FuAuth *auth, const char *name)
{
	if (strcmp(name, "role_arn") == 0)
		return "arn:aws:iam::123456789012:role/cost-reader";
	if (strcmp(name, "external_id") == 0)
		return "finops-4f8a2c61";
	if (strcmp(name, "duration") == 0)
		return "3600";
	if (cur.settings & 4)
		return NULL;			/* the keys come from the file */
	if (strcmp(name, "access_key_id") == 0)
		return "AKIAIOSFODNN7EXAMPLE";
	if (strcmp(name, "secret_access_key") == 0)
		return BASE_SECRET;
	return NULL;
}

bool
fu_auth_server_credentials(const FuAuth *auth)
{
	return (cur.settings & 4) != 0;
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
	if (signer == NULL || signer->data == NULL)
		fu_fuzz_fail("AssumeRole sent without base keys");
	req->http.status = statuses[cur.settings & 3];
	req->http.resp = cur.body;
	req->http.resp_len = cur.body_len;
	req->http.resp_headers = "Content-Type: text/xml\r\n";
	if (req->http.status == 200)
		req->verdict = FU_VERDICT_OK;
	else
		req->verdict = (cur.settings & 8) ? FU_VERDICT_THROTTLED : FU_VERDICT_FAILED;
	return req->verdict;
}

/* the credentials file is the input's first part */
FILE *
AllocateFile(const char *name, const char *mode)
{
	if (cur.file == NULL)
		return NULL;
	return fmemopen(cur.file, cur.file_len, "r");
}

int
FreeFile(FILE *file)
{
	return fclose(file);
}

/* ---------- the harness ---------- */

static void
check_text(const char *what, const char *s)
{
	if (s == NULL || s[0] == '\0')
		fu_fuzz_fail("the credential's %s is empty", what);
	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			fu_fuzz_fail("the credential's %s has a control character", what);
}

typedef struct Input
{
	const uint8_t *data;
	size_t		size;
	FuAuth		auth;
	FuCredential cred;
} Input;

static void
obtain(void *arg)
{
	Input	   *in = (Input *) arg;

	fu_aws_assume_role.obtain(&in->auth, &in->cred);
}

static void
one(void *arg)
{
	Input	   *in = (Input *) arg;
	char	   *parts[2];
	size_t		lens[2];
	int			n;
	ForeignServer *server = palloc0(sizeof(ForeignServer));

	cur.settings = in->size > 0 ? in->data[0] : 0;
	cur.file = NULL;
	if (cur.settings & 4)
	{
		n = fu_fuzz_split(in->data + (in->size > 0), in->size - (in->size > 0),
						  parts, lens, 2);
		cur.file = parts[0];
		cur.file_len = lens[0];
		cur.body = n > 1 ? parts[1] : NULL;
		cur.body_len = n > 1 ? lens[1] : 0;
	}
	else
	{
		cur.body = fu_fuzz_copy(in->data + (in->size > 0), in->size - (in->size > 0));
		cur.body_len = in->size - (in->size > 0);
	}

	server->servername = "fuzz";
	memset(&in->auth, 0, sizeof(in->auth));
	in->auth.provider = &fu_provider_aws;
	in->auth.server = server;
	in->auth.cxt = AllocSetContextCreate(CurrentMemoryContext, "credentials",
										 ALLOCSET_SMALL_SIZES);
	memset(&in->cred, 0, sizeof(in->cred));
	in->cred.method = fu_aws_assume_role.name;
	in->cred.expires = DT_NOEND;

	if (fu_fuzz_try(obtain, in))
	{
		AwsKeys    *keys = (AwsKeys *) in->cred.data;

		if (keys == NULL)
			fu_fuzz_fail("AssumeRole succeeded without keys");
		check_text("access key id", keys->access_key_id);
		check_text("secret access key", keys->secret_access_key);
		check_text("session token", keys->session_token);
		/* the identity is for messages: any text, valid in the encoding */
		if (in->cred.identity == NULL || in->cred.identity[0] == '\0')
			fu_fuzz_fail("the credential has no identity");
		if (!pg_verify_mbstr(PG_UTF8, in->cred.identity, strlen(in->cred.identity), true))
			fu_fuzz_fail("the identity is not valid UTF-8");
		if (in->cred.expires == DT_NOEND || in->cred.expires == DT_NOBEGIN ||
			!IS_VALID_TIMESTAMP(in->cred.expires))
			fu_fuzz_fail("the credential expires at " INT64_FORMAT, in->cred.expires);
		if (list_length(in->cred.secrets) != 2)
			fu_fuzz_fail("the credential has %d secrets", list_length(in->cred.secrets));
	}
	else if (strstr(fu_fuzz_last_error(), BASE_SECRET) != NULL)
		fu_fuzz_fail("the base secret in an error: %s", fu_fuzz_last_error());
}

int			LLVMFuzzerInitialize(int *argc, char ***argv);
int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* the server's environment has no keys: the credentials file is read */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_SESSION_TOKEN");
	unsetenv("AWS_PROFILE");
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/fuzz/credentials", 1);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Input		in;

	in.data = data;
	in.size = size;

	fu_fuzz_one(one, &in);
	return 0;
}
