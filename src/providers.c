/*-------------------------------------------------------------------------
 *
 * providers.c
 *		  The registry of providers and their sources.
 *
 * A new table is a new FuSource in its provider's file plus a line here.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "finops_usage.h"

extern const FuSource fu_source_aws_cost;
extern const FuSource fu_source_aws_cost_forecast;
extern const FuSource fu_source_aws_metrics;

static const FuSource *const aws_sources[] = {
	&fu_source_aws_cost,
	&fu_source_aws_cost_forecast,
	&fu_source_aws_metrics,
	NULL
};

/* Columns of the narrow aws_cost tables, besides their one dimension */
#define AWS_COST_NARROW(dim) \
	(const char *const[]) {"period_start", "period_end", "granularity", dim, \
		"unblended_cost", "blended_cost", "amortized_cost", \
		"net_unblended_cost", "net_amortized_cost", "usage_quantity", \
		"normalized_usage_amount", "currency", "usage_unit", "estimated", NULL}

static const FuImportTable aws_imports[] = {
	{"aws_cost", "aws_cost", NULL},
	{"aws_cost_by_service", "aws_cost", AWS_COST_NARROW("service")},
	{"aws_cost_by_account", "aws_cost", AWS_COST_NARROW("linked_account")},
	{"aws_cost_by_region", "aws_cost", AWS_COST_NARROW("region")},
	{"aws_cost_by_usage_type", "aws_cost", AWS_COST_NARROW("usage_type")},
	{"aws_cost_forecast", "aws_cost_forecast", NULL},
	{"aws_metrics", "aws_metrics", NULL},
	{NULL, NULL, NULL}
};

static const FuSource *const no_sources[] = {NULL};
static const FuImportTable no_imports[] = {{NULL, NULL, NULL}};

static const FuProvider providers[] = {
	{"aws", aws_sources, aws_imports},
	{"gcp", no_sources, no_imports},
	{"azure", no_sources, no_imports},
	{NULL, NULL, NULL}
};

const FuProvider *
fu_find_provider(const char *name)
{
	for (const FuProvider *p = providers; p->name; p++)
		if (strcmp(p->name, name) == 0)
			return p;
	return NULL;
}

const FuSource *
fu_find_source(const char *name)
{
	for (const FuProvider *p = providers; p->name; p++)
		for (const FuSource *const *s = p->sources; *s; s++)
			if (strcmp((*s)->name, name) == 0)
				return *s;
	return NULL;
}

const char *
fu_closest_source(const char *name)
{
	const char *names[64];
	int			n = 0;

	for (const FuProvider *p = providers; p->name; p++)
		for (const FuSource *const *s = p->sources; *s && n < lengthof(names) - 1; s++)
			names[n++] = (*s)->name;
	names[n] = NULL;
	return fu_closest_match(name, names);
}
