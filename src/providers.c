/*-------------------------------------------------------------------------
 *
 * providers.c
 *		  The registry of providers, and lookups in it.
 *
 * A new provider is a folder under src/ that defines one FuProvider, and a
 * line in builtin_providers below.  Another extension may add a provider
 * from its _PG_init with fu_register_provider().
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "engine.h"
#include "utils/memutils.h"

extern const FuProvider fu_provider_aws;
extern const FuProvider fu_provider_gcp;
extern const FuProvider fu_provider_azure;

static const FuProvider *const builtin_providers[] = {
	&fu_provider_aws,
	&fu_provider_gcp,
	&fu_provider_azure,
	NULL
};

/* providers other extensions registered in this backend */
static List *registered_providers = NIL;

void
fu_register_provider(const FuProvider *provider)
{
	MemoryContext old;

	if (fu_find_provider(provider->name) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("finops_usage provider \"%s\" is already registered",
						provider->name)));
	old = MemoryContextSwitchTo(TopMemoryContext);
	registered_providers = lappend(registered_providers, (void *) provider);
	MemoryContextSwitchTo(old);
}

/* The n-th provider, or NULL past the last */
const FuProvider *
fu_provider_at(int n)
{
	if (n < lengthof(builtin_providers) - 1)
		return builtin_providers[n];
	n -= lengthof(builtin_providers) - 1;
	if (n < list_length(registered_providers))
		return (const FuProvider *) list_nth(registered_providers, n);
	return NULL;
}

const FuProvider *
fu_find_provider(const char *name)
{
	const FuProvider *p;

	for (int i = 0; (p = fu_provider_at(i)) != NULL; i++)
		if (strcmp(p->name, name) == 0)
			return p;
	return NULL;
}

/* "aws", "aws and gcp": the providers, for messages */
char *
fu_provider_list(void)
{
	List	   *names = NIL;
	const FuProvider *p;

	for (int i = 0; (p = fu_provider_at(i)) != NULL; i++)
		names = lappend(names, psprintf("\"%s\"", p->name));
	return fu_word_list(names, "and");
}

/* A source of the provider, or of any provider when provider is NULL */
const FuSource *
fu_find_source(const FuProvider *provider, const char *name)
{
	const FuProvider *p;

	for (int i = 0; (p = fu_provider_at(i)) != NULL; i++)
	{
		if (provider && p != provider)
			continue;
		for (const FuSource *const *s = p->sources; *s; s++)
			if (strcmp((*s)->name, name) == 0)
				return *s;
	}
	return NULL;
}

const char *
fu_closest_source(const FuProvider *provider, const char *name)
{
	const FuProvider *p;
	List	   *names = NIL;

	for (int i = 0; (p = fu_provider_at(i)) != NULL; i++)
	{
		if (provider && p != provider)
			continue;
		for (const FuSource *const *s = p->sources; *s; s++)
			names = lappend(names, (char *) (*s)->name);
	}
	return fu_closest_match(name, names);
}

/* An option of the provider in that catalog, or NULL */
const FuOptionDef *
fu_find_option(const FuProvider *provider, const char *name, Oid catalog)
{
	for (const FuOptionDef *o = provider->options; o && o->name; o++)
		if (o->catalog == catalog && strcmp(o->name, name) == 0)
			return o;
	return NULL;
}

/* The first provider that has this option, or NULL */
const FuProvider *
fu_option_owner(const char *name, Oid catalog)
{
	const FuProvider *p;

	for (int i = 0; (p = fu_provider_at(i)) != NULL; i++)
		if (fu_find_option(p, name, catalog))
			return p;
	return NULL;
}
