/*-------------------------------------------------------------------------
 *
 * credentials.c
 *		  AWS access keys: those of the user mapping, or, when a superuser
 *		  allowed it (use_server_credentials), the database server's own
 *		  (AWS_* environment variables, then the shared credentials file).
 *		  They are the credentials of a mapping without role_arn, and the
 *		  base credentials that AssumeRole signs with.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "aws.h"
#include "common/string.h"
#include "storage/fd.h"
#include "utils/memutils.h"

/* The server's region option (Cost Explorer ignores it; STS uses it) */
char *
fu_aws_region(ForeignServer *server)
{
	char	   *region = fu_get_option(server->options, "region");

	return region ? region : AWS_DEFAULT_REGION;
}

/* Read one profile of an AWS shared credentials file */
static void
read_credentials_file(AwsKeys *keys)
{
	const char *path = getenv("AWS_SHARED_CREDENTIALS_FILE");
	const char *profile = getenv("AWS_PROFILE");
	StringInfoData line_buf;
	bool		in_profile = false;
	FILE	   *f;

	if (profile == NULL || profile[0] == '\0')
		profile = "default";
	if (path == NULL)
	{
		const char *home = getenv("HOME");

		if (home == NULL)
			return;
		path = psprintf("%s/.aws/credentials", home);
	}
	f = AllocateFile(path, "r");
	if (f == NULL)
		return;
	initStringInfo(&line_buf);
	/* whole lines: session tokens run to more than a kilobyte */
	while (pg_get_line_buf(f, &line_buf))
	{
		char	   *line = line_buf.data;
		char	   *eq;
		char	   *end;

		while (*line == ' ' || *line == '\t')
			line++;
		end = line + strlen(line);
		while (end > line && (end[-1] == '\n' || end[-1] == '\r' ||
							  end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (line[0] == '[')
		{
			char	   *close = strchr(line, ']');

			if (close)
				*close = '\0';
			in_profile = strcmp(line + 1, profile) == 0;
			continue;
		}
		if (!in_profile || (eq = strchr(line, '=')) == NULL)
			continue;
		*eq = '\0';
		for (end = eq; end > line && (end[-1] == ' ' || end[-1] == '\t');)
			*--end = '\0';
		eq++;
		while (*eq == ' ' || *eq == '\t')
			eq++;
		if (strcmp(line, "aws_access_key_id") == 0)
			keys->access_key_id = pstrdup(eq);
		else if (strcmp(line, "aws_secret_access_key") == 0)
			keys->secret_access_key = pstrdup(eq);
		else if (strcmp(line, "aws_session_token") == 0)
			keys->session_token = pstrdup(eq);
	}
	FreeFile(f);
}

/* Keys go into headers and signatures: no control characters */
static void
check_key(const char *what, const char *s)
{
	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the AWS %s contains a control character", what)));
}

/* Fill cred with these keys, copied into cxt */
void
fu_aws_set_keys(FuCredential *cred, MemoryContext cxt, const char *akid,
				const char *secret, const char *token)
{
	AwsKeys    *k;
	MemoryContext old;

	check_key("access key id", akid);
	check_key("secret access key", secret);
	if (token)
		check_key("session token", token);
	k = MemoryContextAllocZero(cxt, sizeof(AwsKeys));
	old = MemoryContextSwitchTo(cxt);

	k->access_key_id = pstrdup(akid);
	k->secret_access_key = pstrdup(secret);
	k->session_token = token ? pstrdup(token) : NULL;
	cred->data = k;
	cred->identity = pstrdup(akid);
	cred->secrets = list_make1(k->secret_access_key);
	if (k->session_token)
		cred->secrets = lappend(cred->secrets, k->session_token);
	MemoryContextSwitchTo(old);
}

/*
 * The access keys of the user mapping, or the server's own when allowed;
 * an ERROR when there are none.
 */
void
fu_aws_base_keys(const FuAuth *auth, FuCredential *cred, MemoryContext cxt)
{
	AwsKeys		keys;

	keys.access_key_id = fu_auth_option(auth, "access_key_id");
	keys.secret_access_key = fu_auth_option(auth, "secret_access_key");
	keys.session_token = fu_auth_option(auth, "session_token");

	if ((keys.access_key_id == NULL || keys.secret_access_key == NULL) &&
		fu_auth_server_credentials(auth))
	{
		const char *ak = getenv("AWS_ACCESS_KEY_ID");
		const char *sk = getenv("AWS_SECRET_ACCESS_KEY");

		if (ak && sk && ak[0] && sk[0])
		{
			const char *tok = getenv("AWS_SESSION_TOKEN");

			keys.access_key_id = pstrdup(ak);
			keys.secret_access_key = pstrdup(sk);
			keys.session_token = (tok && tok[0]) ? pstrdup(tok) : NULL;
		}
		else
		{
			keys.session_token = NULL;
			read_credentials_file(&keys);
		}
	}

	if (keys.access_key_id == NULL || keys.secret_access_key == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
				 errmsg("no AWS credentials for server \"%s\"",
						auth->server->servername),
				 errhint("Set access_key_id and secret_access_key in the user mapping.")));
	fu_aws_set_keys(cred, cxt, keys.access_key_id, keys.secret_access_key,
					keys.session_token);
}

/* ---------- the credential provider ---------- */

static bool
static_applies(const FuAuth *auth)
{
	return fu_auth_option(auth, "role_arn") == NULL;
}

static void
static_obtain(const FuAuth *auth, FuCredential *cred)
{
	static const char *const role_options[] = {
		"external_id", "role_session_name", "duration", NULL
	};

	/* options of AssumeRole without a role would be ignored */
	for (const char *const *o = role_options; *o; o++)
		if (fu_auth_option(auth, *o) != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
					 errmsg("option \"%s\" of the user mapping for server \"%s\" needs role_arn",
							*o, auth->server->servername),
					 errhint("Set role_arn to assume a role, or drop \"%s\".", *o)));
	fu_aws_base_keys(auth, cred, auth->cxt);
}

/* The access key id the keys of the server's environment or file have */
char *
fu_aws_principal(const FuAuth *auth)
{
	FuCredential cred;

	if (fu_auth_option(auth, "access_key_id") != NULL ||
		!fu_auth_server_credentials(auth))
		return NULL;
	memset(&cred, 0, sizeof(cred));
	fu_aws_base_keys(auth, &cred, CurrentMemoryContext);
	return cred.identity;
}

const FuCredentialProvider fu_aws_static_keys = {
	.name = "AWS access keys",
	.applies = static_applies,
	.obtain = static_obtain,
	.principal = fu_aws_principal,
};
