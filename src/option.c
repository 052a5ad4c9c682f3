/*-------------------------------------------------------------------------
 *
 * option.c
 *		  Options of the finops_usage foreign data wrapper: the validator,
 *		  and small helpers for reading options.
 *
 * The engine's own options are below; each provider declares its server
 * and user-mapping options (FuProvider.options).  A server's options are
 * checked against its provider here; a user mapping's validator does not
 * know its server, so options that belong to another provider are refused
 * when the mapping is used (auth.c).  Options that make the server use its
 * own identity or files (endpoint, ca_file, use_server_credentials) are
 * superuser-only.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/reloptions.h"
#include "catalog/pg_foreign_server.h"
#include "catalog/pg_foreign_table.h"
#include "catalog/pg_user_mapping.h"
#include "commands/defrem.h"
#include "engine.h"
#include "miscadmin.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(finops_usage_validator);

static void check_endpoint(const char *name, const char *value);
static void check_boolean(const char *name, const char *value);
static void check_source(const char *name, const char *value);

/* Options of every provider */
static const FuOptionDef engine_options[] = {
	{"provider", ForeignServerRelationId, false, NULL},
	{"endpoint", ForeignServerRelationId, true, check_endpoint},
	{"ca_file", ForeignServerRelationId, true, NULL},
	{"use_server_credentials", UserMappingRelationId, true, check_boolean},
	{"source", ForeignTableRelationId, false, check_source},
	{NULL, InvalidOid, false, NULL}
};

static const FuOptionDef *
engine_option(const char *name, Oid catalog)
{
	for (const FuOptionDef *o = engine_options; o->name; o++)
		if (o->catalog == catalog && strcmp(o->name, name) == 0)
			return o;
	return NULL;
}

static void
check_endpoint(const char *name, const char *value)
{
	if (pg_strncasecmp(value, "http://", 7) != 0 &&
		pg_strncasecmp(value, "https://", 8) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for option \"%s\": \"%s\"", name, value),
				 errdetail("Only http and https URLs are allowed.")));
}

static void
check_boolean(const char *name, const char *value)
{
	bool		b;

	if (!parse_bool(value, &b))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s requires a Boolean value", name)));
}

static void
check_source(const char *name, const char *value)
{
	if (fu_find_source(NULL, value) == NULL)
	{
		const char *closest = fu_closest_source(NULL, value);

		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for option \"%s\": \"%s\"", name, value),
				 closest ? errhint("Perhaps you meant \"%s\".", closest) : 0));
	}
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

/*
 * A region name (of any provider) goes into host names and signatures:
 * lower-case letters, digits and dashes only.
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

/* The provider of a server */
const FuProvider *
fu_server_provider(ForeignServer *server)
{
	char	   *name = fu_get_option(server->options, "provider");
	const FuProvider *p;

	if (name == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
				 errmsg("server \"%s\" has no option \"provider\"",
						server->servername)));
	p = fu_find_provider(name);
	if (p == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
				 errmsg("server \"%s\" has an unknown provider \"%s\"",
						server->servername, name),
				 errhint("The providers of this build are %s.", fu_provider_list())));
	return p;
}

/* The options valid in a catalog (for one provider, or for all) */
static List *
valid_names(const FuProvider *provider, Oid catalog)
{
	const FuProvider *p;
	List	   *names = NIL;

	for (const FuOptionDef *o = engine_options; o->name; o++)
		if (o->catalog == catalog)
			names = lappend(names, (char *) o->name);
	for (int i = 0; (p = fu_provider_at(i)) != NULL; i++)
	{
		if (provider && p != provider)
			continue;
		for (const FuOptionDef *o = p->options; o && o->name; o++)
			if (o->catalog == catalog)
				names = lappend(names, (char *) o->name);
	}
	return names;
}

static void pg_attribute_noreturn()
report_invalid_option(const char *name, Oid catalog,
					  const FuProvider *provider)
{
	List	   *names = valid_names(provider, catalog);
	const char *closest = fu_closest_match(name, names);

	ereport(ERROR,
			(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
			 errmsg("invalid option \"%s\"", name),
			 names == NIL ? errhint("There are no valid options in this context.") :
			 closest ? errhint("Perhaps you meant the option \"%s\".", closest) :
			 errhint("Valid options in this context are described in the finops_usage README.")));
}

/*
 * The definition of an option of a catalog; for servers, of the server's
 * provider.
 */
static const FuOptionDef *
lookup_option(const char *name, Oid catalog, const FuProvider *provider)
{
	const FuOptionDef *o = engine_option(name, catalog);
	const FuProvider *owner;

	if (o)
		return o;
	if (provider)
	{
		o = fu_find_option(provider, name, catalog);
		if (o)
			return o;
		owner = fu_option_owner(name, catalog);
		if (owner)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
					 errmsg("option \"%s\" does not apply to provider \"%s\"",
							name, provider->name),
					 errdetail("It is an option of provider \"%s\".", owner->name)));
		report_invalid_option(name, catalog, provider);
	}
	owner = fu_option_owner(name, catalog);
	if (owner == NULL)
		report_invalid_option(name, catalog, NULL);
	return fu_find_option(owner, name, catalog);
}

Datum
finops_usage_validator(PG_FUNCTION_ARGS)
{
	List	   *options = untransformRelOptions(PG_GETARG_DATUM(0));
	Oid			catalog = PG_GETARG_OID(1);
	const FuProvider *provider = NULL;
	ListCell   *lc;

	if (catalog == ForeignServerRelationId)
	{
		char	   *name = fu_get_option(options, "provider");

		if (name == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
					 errmsg("option \"provider\" is required for a finops_usage server"),
					 errhint("Add OPTIONS (provider '%s'); the providers of this build are %s.",
							 fu_provider_at(0)->name, fu_provider_list())));
		provider = fu_find_provider(name);
		if (provider == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid value for option \"provider\": \"%s\"", name),
					 errhint("The providers of this build are %s.", fu_provider_list())));
	}

	foreach(lc, options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);
		const FuOptionDef *opt = lookup_option(def->defname, catalog, provider);
		char	   *value = defGetString(def);

		if (opt->superuser_only && !superuser())
		{
			bool		b;

			/* a false use_server_credentials grants nothing */
			if (opt->check != check_boolean || !parse_bool(value, &b) || b)
				ereport(ERROR,
						(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						 errmsg("permission denied to set option \"%s\"",
								def->defname),
						 errdetail("Only superusers may set \"%s\": it makes the database server use its own network identity or files.",
								   def->defname)));
		}
		if (opt->check)
			opt->check(def->defname, value);
	}
	PG_RETURN_VOID();
}

/*
 * When a user mapping is used: its options must belong to the server's
 * provider (the validator could not know the server).
 */
void
fu_check_mapping_options(const FuProvider *provider, ForeignServer *server,
						 UserMapping *user)
{
	ListCell   *lc;

	foreach(lc, user->options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);

		if (engine_option(def->defname, UserMappingRelationId) ||
			fu_find_option(provider, def->defname, UserMappingRelationId))
			continue;
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
				 errmsg("option \"%s\" of the user mapping for server \"%s\" does not apply to provider \"%s\"",
						def->defname, server->servername, provider->name),
				 errhint("Remove it with ALTER USER MAPPING ... OPTIONS (DROP %s).",
						 def->defname)));
	}
}

/* Is use_server_credentials true in the user mapping? */
bool
fu_mapping_allows_server_credentials(UserMapping *user)
{
	char	   *v = fu_get_option(user->options, "use_server_credentials");
	bool		b;

	return v != NULL && parse_bool(v, &b) && b;
}
