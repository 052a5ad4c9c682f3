/*-------------------------------------------------------------------------
 *
 * fuzz_options.c
 *		  libFuzzer harness of the option parsers: the validator of servers,
 *		  user mappings, foreign tables and the wrapper (src/option.c) with
 *		  every provider's option checks (regions, keys, role ARN, external
 *		  id, session name, duration, project, billing table, service
 *		  account key JSON, tokens, scope, GUIDs, secrets, endpoint, Boolean,
 *		  source), the user-mapping checks made when a mapping is used, and
 *		  the value checks of the sources' columns (periods, statistics,
 *		  prediction intervals, resource types, project ids...).
 *
 * Input: a byte of settings (bits 0-1 the catalog: server, user mapping,
 * foreign table, wrapper; bit 2 superuser; bits 3-4 the provider of the
 * mapping checks: aws, gcp, azure), then options "name=value" separated by
 * NUL bytes, as CREATE ... OPTIONS gives them to the validator (text[]).
 * Checks: the validator accepts only values its rules allow (an endpoint
 * is http(s), regions are region names, a duration 900 to 43200 seconds,
 * no control character in keys...), and its errors are its own (not
 * levenshtein's, whose length limit a "perhaps you meant" search hit).
 *
 *-------------------------------------------------------------------------
 */
/* FUZZ-LINK: src/option.c src/providers.c src/message.c src/json.c */
/* FUZZ-LINK: src/jsonwalk.c src/values.c src/period.c src/request.c src/quals.c */
/* FUZZ-LINK: src/aws/provider.c src/aws/credentials.c src/aws/sts.c src/aws/xml.c */
/* FUZZ-LINK: src/aws/ce.c src/aws/cost.c src/aws/cost_forecast.c */
/* FUZZ-LINK: src/aws/ce_results.c src/aws/cost_by_resource.c src/aws/focus.c */
/* FUZZ-LINK: src/gcp/focus.c src/azure/focus.c src/focus.c src/derived.c */
/* FUZZ-LINK: src/aws/docs.c src/gcp/docs.c src/azure/docs.c */
/* FUZZ-LINK: src/aws/metrics.c src/aws/metrics_window.c src/aws/cloudwatch.c */
/* FUZZ-LINK: src/aws/sign.c src/aws/sigv4.c */
/* FUZZ-LINK: src/gcp/provider.c src/gcp/credentials.c src/gcp/monitoring.c src/gcp/bigquery.c */
/* FUZZ-LINK: src/azure/provider.c src/azure/credentials.c src/azure/usage.c src/azure/metrics.c */
#include "postgres.h"

#include "access/reloptions.h"
#include "catalog/pg_foreign_data_wrapper.h"
#include "catalog/pg_foreign_server.h"
#include "catalog/pg_foreign_table.h"
#include "catalog/pg_user_mapping.h"
#include "commands/defrem.h"
#include "nodes/makefuncs.h"
#include "pg_stub.h"

extern Datum finops_usage_validator(PG_FUNCTION_ARGS);
extern bool fu_azure_valid_guid(const char *s);

#define MAX_OPTIONS 8

static const Oid catalogs[] = {ForeignServerRelationId, UserMappingRelationId,
ForeignTableRelationId, ForeignDataWrapperRelationId};

/*
 * reloptions.c's: the options of a text[] as DefElems ("name=value", or a
 * name alone, whose value is then missing).  The harness passes the
 * strings as a List.
 */
List *
untransformRelOptions(Datum options)
{
	List	   *result = NIL;
	ListCell   *lc;

	foreach(lc, (List *) DatumGetPointer(options))
	{
		char	   *s = pstrdup((char *) lfirst(lc));
		char	   *p = strchr(s, '=');
		Node	   *val = NULL;

		if (p)
		{
			*p++ = '\0';
			val = (Node *) makeString(p);
		}
		result = lappend(result, makeDefElem(s, val, -1));
	}
	return result;
}

typedef struct Input
{
	const uint8_t *data;
	size_t		size;
	List	   *strings;
	Oid			catalog;
	const FuProvider *provider;
	ForeignServer server;
	UserMapping user;
} Input;

static void
validate(void *arg)
{
	Input	   *in = (Input *) arg;
	LOCAL_FCINFO(fcinfo, 2);

	InitFunctionCallInfoData(*fcinfo, NULL, 2, InvalidOid, NULL, NULL);
	fcinfo->args[0].value = PointerGetDatum(in->strings);
	fcinfo->args[0].isnull = false;
	fcinfo->args[1].value = ObjectIdGetDatum(in->catalog);
	fcinfo->args[1].isnull = false;
	(void) finops_usage_validator(fcinfo);
}

static void
mapping(void *arg)
{
	Input	   *in = (Input *) arg;

	fu_check_mapping_options(in->provider, &in->server, &in->user);
	(void) fu_mapping_allows_server_credentials(&in->user);
}

/* the values of the sources' columns with a test of their own */
static void
column_values(void *arg)
{
	Input	   *in = (Input *) arg;
	const FuProvider *p;
	ListCell   *lc;

	foreach(lc, in->strings)
	{
		char	   *v = (char *) lfirst(lc);

		for (int i = 0; (p = fu_provider_at(i)) != NULL; i++)
			for (const FuSource *const *s = p->sources; *s; s++)
				for (int c = 0; c < (*s)->ncolumns; c++)
					if ((*s)->columns[c].valid_value)
						(void) (*s)->columns[c].valid_value(v);
		(void) fu_valid_region(v);
		(void) fu_split_list(v);
	}
}

static bool
is_digits(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* what an accepted option must be */
static void
check_accepted(const char *name, const char *value)
{
	if (strcmp(name, "endpoint") == 0 &&
		pg_strncasecmp(value, "http://", 7) != 0 &&
		pg_strncasecmp(value, "https://", 8) != 0)
		fu_fuzz_fail("endpoint \"%s\" accepted", value);
	if (strcmp(name, "region") == 0 || strcmp(name, "regions") == 0)
	{
		List	   *l = fu_split_list(value);
		ListCell   *lc;

		if (l == NIL)
			fu_fuzz_fail("empty %s accepted", name);
		foreach(lc, l)
			if (!fu_valid_region((char *) lfirst(lc)))
				fu_fuzz_fail("region \"%s\" accepted", (char *) lfirst(lc));
	}
	if (strcmp(name, "duration") == 0 &&
		(!is_digits(value) || strlen(value) > 5 || atoi(value) < 900 || atoi(value) > 43200))
		fu_fuzz_fail("duration \"%s\" accepted", value);
	if (strcmp(name, "subscription_id") == 0 && !fu_azure_valid_guid(value))
		fu_fuzz_fail("subscription_id \"%s\" accepted", value);
	if (strcmp(name, "role_arn") == 0 && strncmp(value, "arn:aws:iam::", 13) != 0)
		fu_fuzz_fail("role_arn \"%s\" accepted", value);
	if (strcmp(name, "access_key_id") == 0 || strcmp(name, "secret_access_key") == 0 ||
		strcmp(name, "session_token") == 0 || strcmp(name, "access_token") == 0)
		for (const unsigned char *c = (const unsigned char *) value; *c; c++)
			if (*c < 0x20 || *c == 0x7f)
				fu_fuzz_fail("%s with a control character accepted", name);
}

static void
one(void *arg)
{
	Input	   *in = (Input *) arg;
	uint8_t		settings = in->size > 0 ? in->data[0] : 0;
	char	   *parts[MAX_OPTIONS];
	size_t		lens[MAX_OPTIONS];
	int			n;
	ListCell   *lc;

	n = fu_fuzz_split(in->data + (in->size > 0), in->size - (in->size > 0),
					  parts, lens, MAX_OPTIONS);
	in->strings = NIL;
	for (int i = 0; i < n; i++)
		in->strings = lappend(in->strings, parts[i]);
	in->catalog = catalogs[settings & 3];
	fu_stub_superuser = (settings & 4) != 0;

	if (!fu_fuzz_try(validate, in))
	{
		/* the option's own error, not one of a helper (a hint's search) */
		if (strncmp(fu_fuzz_last_error(), "levenshtein argument", 20) == 0)
			fu_fuzz_fail("the validator raised: %s", fu_fuzz_last_error());
	}
	else
	{
		List	   *defs = untransformRelOptions(PointerGetDatum(in->strings));

		foreach(lc, defs)
		{
			DefElem    *d = (DefElem *) lfirst(lc);

			check_accepted(d->defname, defGetString(d));
		}
	}

	/* a user mapping used with a server of a provider */
	in->provider = fu_provider_at(((settings >> 3) & 3) % 3);
	memset(&in->server, 0, sizeof(in->server));
	in->server.servername = "fuzz";
	memset(&in->user, 0, sizeof(in->user));
	in->user.options = NIL;
	foreach(lc, in->strings)
		if (strchr((char *) lfirst(lc), '=') != NULL)
			in->user.options = lappend(in->user.options,
									   linitial(untransformRelOptions(PointerGetDatum(list_make1(lfirst(lc))))));
	fu_fuzz_try(mapping, in);

	fu_fuzz_try(column_values, in);
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
