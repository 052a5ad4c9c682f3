/*-------------------------------------------------------------------------
 *
 * guc.c
 *		  Settings of finops_usage (GUCs under finops_usage.*) and module
 *		  initialisation.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "engine.h"
#include "fmgr.h"
#include "utils/guc.h"

PG_MODULE_MAGIC;

int			fu_max_billable_calls = 50;
int			fu_connect_timeout_ms = 10000;
int			fu_request_timeout_ms = 30000;
int			fu_retry_budget_ms = 90000;
int			fu_max_response_kb = 131072;
int			fu_max_retries = 4;
int			fu_retry_base_ms = 500;
int			fu_retry_max_ms = 20000;
int			fu_max_concurrency = 8;
char	   *fu_today = NULL;

void		_PG_init(void);

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
	DefineCustomBoolVariable("finops_usage.aggregate_pushdown",
							 "Lets the provider compute GROUP BY and aggregates where it gives the same answer.",
							 "Off: every aggregate is computed locally from the rows.",
							 &fu_aggregate_pushdown, true,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("finops_usage.max_billable_calls",
							"Maximum number of billable API calls one scan may make.",
							"A scan that would exceed it stops with an error before the call is made. 0 disables the limit.",
							&fu_max_billable_calls, 50, 0, 1000000,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("finops_usage.connect_timeout",
							"Time allowed to connect to a cloud API.",
							NULL, &fu_connect_timeout_ms, 10000, 1, 600000,
							PGC_USERSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("finops_usage.retry_budget",
							"Time after which a failing request is not retried again.",
							"Counted from its first attempt: with the per-attempt timeout, a silent server ends a query within about two minutes. 0: only max_retries counts.",
							&fu_retry_budget_ms, 90000, 0, 3600000,
							PGC_USERSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("finops_usage.request_timeout",
							"Time allowed for one HTTP request, body included.",
							NULL, &fu_request_timeout_ms, 30000, 1, 3600000,
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
							"It also caps the delay a server asks for (Retry-After).",
							&fu_retry_max_ms, 20000, 0, 3600000,
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

	DefineCustomIntVariable("finops_usage.cache_ttl",
							"How long answers are reused from the result cache shared by every connection.",
							"For data that can still change. 0 turns the cache off.",
							&fu_cache_ttl, 3600, 0, INT_MAX,
							PGC_USERSET, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("finops_usage.cache_ttl_final",
							"How long answers the provider marks final are reused from the result cache.",
							"Such as Cost Explorer periods with Estimated false.",
							&fu_cache_ttl_final, 86400, 0, INT_MAX,
							PGC_USERSET, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("finops_usage.cache_size",
							"Size of the result cache, for the whole cluster.",
							"The least recently used answers are removed beyond it.",
							&fu_cache_size_mb, 256, 1, INT_MAX / 2,
							PGC_SUSET, GUC_UNIT_MB, NULL, NULL, NULL);
	MarkGUCPrefixReserved("finops_usage");
	fu_stats_init();
	fu_http_init();
}

/* The HTTP limits the settings give, for a new batch */
void
fu_http_settings(FuHttpSettings *settings)
{
	settings->connect_timeout_ms = fu_connect_timeout_ms;
	settings->request_timeout_ms = fu_request_timeout_ms;
	settings->retry_budget_ms = fu_retry_budget_ms;
	settings->max_response_bytes = (size_t) fu_max_response_kb * 1024;
	settings->max_retries = fu_max_retries;
	settings->retry_base_ms = fu_retry_base_ms;
	settings->retry_max_ms = fu_retry_max_ms;
	settings->max_concurrency = fu_max_concurrency;
}
