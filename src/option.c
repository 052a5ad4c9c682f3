/*-------------------------------------------------------------------------
 *
 * option.c
 *		  Options of the finops_usage foreign data wrapper, its GUCs and
 *		  module initialisation.
 *
 * Options that depend on the provider (which credentials a user mapping
 * needs) are checked when a table is used: a user mapping's validator does
 * not know its server.  Options that make the server use its own identity
 * or files (endpoint, ca_file, use_server_credentials) are superuser-only.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/reloptions.h"
#include "catalog/pg_foreign_data_wrapper.h"
#include "catalog/pg_foreign_server.h"
#include "catalog/pg_foreign_table.h"
#include "catalog/pg_user_mapping.h"
#include "commands/defrem.h"
#include "finops_usage.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/varlena.h"

PG_MODULE_MAGIC;

int			fu_max_billable_calls = 50;
int			fu_connect_timeout_ms = 10000;
int			fu_request_timeout_ms = 120000;
int			fu_max_response_kb = 131072;
int			fu_max_retries = 4;
int			fu_retry_base_ms = 500;
int			fu_retry_max_ms = 20000;
int			fu_max_concurrency = 8;
char	   *fu_today = NULL;

typedef struct FuOption
{
	const char *name;
	Oid			context;		/* catalog the option belongs to */
	bool		superuser_only;
} FuOption;

static const FuOption fu_options[] = {
	{"provider", ForeignServerRelationId, false},
	{"region", ForeignServerRelationId, false},
	{"regions", ForeignServerRelationId, false},
	{"project_id", ForeignServerRelationId, false},
	{"billing_table", ForeignServerRelationId, false},
	{"scope", ForeignServerRelationId, false},
	{"subscription_id", ForeignServerRelationId, false},
	{"endpoint", ForeignServerRelationId, true},
	{"ca_file", ForeignServerRelationId, true},
	{"access_key_id", UserMappingRelationId, false},
	{"secret_access_key", UserMappingRelationId, false},
	{"session_token", UserMappingRelationId, false},
	{"service_account_key", UserMappingRelationId, false},
	{"access_token", UserMappingRelationId, false},
	{"tenant_id", UserMappingRelationId, false},
	{"client_id", UserMappingRelationId, false},
	{"client_secret", UserMappingRelationId, false},
	{"use_server_credentials", UserMappingRelationId, true},
	{"role_arn", UserMappingRelationId, false},
	{"external_id", UserMappingRelationId, false},
	{"source", ForeignTableRelationId, false},
	{NULL, InvalidOid, false}
};

static const char *const fu_provider_names[] = {"aws", "gcp", "azure", NULL};

void		_PG_init(void);

PG_FUNCTION_INFO_V1(finops_usage_validator);

static bool
check_today(char **newval, void **extra, GucSource source)
{
	DateADT		d;

	if (*newval == NULL || **newval == '\0')
		return true;
	if (strlen(*newval) != 10 || !fu_parse_date(*newval, &d))
	{
		GUC_check_errdetail("The value must be a date in the form YYYY-MM-DD.");
		return false;
	}
	return true;
}

void
_PG_init(void)
{
	DefineCustomIntVariable("finops_usage.max_billable_calls",
							"Maximum number of billable API calls one scan may make.",
							"A scan that would exceed it stops with an error before the call is made. 0 disables the limit.",
							&fu_max_billable_calls, 50, 0, 1000000,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("finops_usage.connect_timeout",
							"Time allowed to connect to a cloud API.",
							NULL, &fu_connect_timeout_ms, 10000, 1, 600000,
							PGC_USERSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("finops_usage.request_timeout",
							"Time allowed for one HTTP request, body included.",
							NULL, &fu_request_timeout_ms, 120000, 1, 3600000,
							PGC_USERSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("finops_usage.max_response_size",
							"Largest HTTP response body accepted.",
							NULL, &fu_max_response_kb, 131072, 64, 1048576,
							PGC_USERSET, GUC_UNIT_KB, NULL, NULL, NULL);
	DefineCustomIntVariable("finops_usage.max_retries",
							"Retries of a throttled or transiently failed request.",
							NULL, &fu_max_retries, 4, 0, 100,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("finops_usage.retry_base_delay",
							"First backoff delay before retrying a request.",
							"Later retries double it, with jitter, up to finops_usage.retry_max_delay.",
							&fu_retry_base_ms, 500, 0, 600000,
							PGC_USERSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("finops_usage.retry_max_delay",
							"Longest backoff delay before retrying a request.",
							NULL, &fu_retry_max_ms, 20000, 0, 3600000,
							PGC_USERSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("finops_usage.max_concurrency",
							"Maximum number of HTTP requests one scan has in flight at once.",
							NULL, &fu_max_concurrency, 8, 1, 256,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("finops_usage.today",
							   "Pins the date taken as today (YYYY-MM-DD) for default time windows.",
							   "Empty means the current date in UTC. Meant for tests and reproducible reports.",
							   &fu_today, "",
							   PGC_USERSET, 0, check_today, NULL, NULL);
	MarkGUCPrefixReserved("finops_usage");

	fu_http_init();
}

/*
 * A region name goes into host names and signatures: lower-case letters,
 * digits and dashes only.
 */
bool
fu_valid_region(const char *s)
{
	size_t		len = strlen(s);

	if (len == 0 || len > 64)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
			return false;
	return true;
}

/* The items of a comma-separated list, trimmed, empty ones left out */
List *
fu_split_list(const char *list)
{
	List	   *items = NIL;
	char	   *copy = pstrdup(list);
	char	   *save = NULL;

	for (char *tok = strtok_r(copy, ",", &save); tok;
		 tok = strtok_r(NULL, ",", &save))
	{
		char	   *end;

		while (*tok == ' ' || *tok == '\t')
			tok++;
		end = tok + strlen(tok);
		while (end > tok && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (*tok)
			items = lappend(items, tok);
	}
	return items;
}

/* Value of an option in a DefElem list, or NULL */
char *
fu_get_option(List *options, const char *name)
{
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);

		if (strcmp(def->defname, name) == 0)
			return defGetString(def);
	}
	return NULL;
}

const char *
fu_server_provider(ForeignServer *server)
{
	char	   *p = fu_get_option(server->options, "provider");

	if (p == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
				 errmsg("server \"%s\" has no option \"provider\"",
						server->servername)));
	return p;
}

/* The candidate closest to name, if close enough to be a likely typo */
const char *
fu_closest_match(const char *name, const char *const *candidates)
{
	const char *best = NULL;
	int			best_d = INT_MAX;
	int			len = strlen(name);
	int			max_d = Max(2, len / 2);

	for (; *candidates; candidates++)
	{
		int			d = varstr_levenshtein(name, len, *candidates,
										   strlen(*candidates), 1, 1, 1, false);

		if (d < best_d)
		{
			best_d = d;
			best = *candidates;
		}
	}
	return best_d <= max_d ? best : NULL;
}

static void
report_invalid_option(const char *name, Oid context)
{
	const char *candidates[lengthof(fu_options)];
	const char *closest;
	int			n = 0;

	for (const FuOption *o = fu_options; o->name; o++)
		if (o->context == context)
			candidates[n++] = o->name;
	candidates[n] = NULL;
	closest = fu_closest_match(name, candidates);

	ereport(ERROR,
			(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
			 errmsg("invalid option \"%s\"", name),
			 n == 0 ? errhint("There are no valid options in this context.") :
			 closest ? errhint("Perhaps you meant the option \"%s\".", closest) :
			 errhint("Valid options in this context are described in the finops_usage README.")));
}

static void
check_option_value(DefElem *def)
{
	const char *name = def->defname;
	char	   *val = defGetString(def);

	if (strcmp(name, "provider") == 0)
	{
		const char *const *p;

		for (p = fu_provider_names; *p; p++)
			if (strcmp(val, *p) == 0)
				return;
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for option \"provider\": \"%s\"", val),
				 errhint("Valid values are \"aws\", \"gcp\" and \"azure\".")));
	}
	else if (strcmp(name, "endpoint") == 0)
	{
		if (pg_strncasecmp(val, "http://", 7) != 0 &&
			pg_strncasecmp(val, "https://", 8) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid value for option \"endpoint\": \"%s\"", val),
					 errdetail("Only http and https URLs are allowed.")));
	}
	else if (strcmp(name, "use_server_credentials") == 0)
		(void) defGetBoolean(def);
	else if (strcmp(name, "source") == 0)
	{
		if (fu_find_source(val) == NULL)
		{
			const char *closest = fu_closest_source(val);

			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid value for option \"source\": \"%s\"", val),
					 closest ? errhint("Perhaps you meant \"%s\".", closest) : 0));
		}
	}
	else if (strcmp(name, "region") == 0 || strcmp(name, "regions") == 0)
	{
		List	   *regions = fu_split_list(val);
		ListCell   *lc;

		foreach(lc, regions)
			if (!fu_valid_region((char *) lfirst(lc)))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("invalid region \"%s\" in option \"%s\"",
								(char *) lfirst(lc), name),
						 errhint("Regions are lower-case names such as us-east-1, eu-west-1 or westeurope, separated by commas.")));
		if (regions == NIL ||
			(strcmp(name, "region") == 0 && list_length(regions) > 1))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid value for option \"%s\": \"%s\"", name, val)));
	}
}

Datum
finops_usage_validator(PG_FUNCTION_ARGS)
{
	List	   *options = untransformRelOptions(PG_GETARG_DATUM(0));
	Oid			catalog = PG_GETARG_OID(1);
	ListCell   *lc;
	bool		has_provider = false;

	foreach(lc, options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);
		const FuOption *opt = NULL;

		for (const FuOption *o = fu_options; o->name; o++)
			if (o->context == catalog && strcmp(o->name, def->defname) == 0)
				opt = o;
		if (opt == NULL)
			report_invalid_option(def->defname, catalog);

		if (opt->superuser_only && !superuser())
		{
			/* a false use_server_credentials grants nothing */
			if (strcmp(def->defname, "use_server_credentials") != 0 ||
				defGetBoolean(def))
				ereport(ERROR,
						(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						 errmsg("permission denied to set option \"%s\"",
								def->defname),
						 errdetail("Only superusers may set \"%s\": it makes the database server use its own network identity or files.",
								   def->defname)));
		}
		check_option_value(def);
		if (strcmp(def->defname, "provider") == 0)
			has_provider = true;
	}

	if (catalog == ForeignServerRelationId && !has_provider)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
				 errmsg("option \"provider\" is required for a finops_usage server"),
				 errhint("Add OPTIONS (provider 'aws'), 'gcp' or 'azure'.")));

	PG_RETURN_VOID();
}
