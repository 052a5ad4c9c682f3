/*-------------------------------------------------------------------------
 *
 * focus.c
 *		  azure_focus: the FOCUS 1.2 columns over Cost Management's Query
 *		  API, as a derived source of azure_usage (see derived.c).
 *
 * Grain: one row per day x ServiceName x ChargeType (the two groupings a
 * call allows), ActualCost, whatever a query reads: ChargeType is what
 * ChargeCategory needs.  The subscription and billing account come from
 * the server's scope; what the API cannot give at that grain (regions,
 * list and amortized costs, quantities of mixed units) is NULL or
 * approximated as the README lists.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "focus.h"
#include "utils/builtins.h"

extern const FuSource fu_source_azure_usage;

/* the azure_usage columns a row is made of */
enum
{
	IN_USAGE_DATE,
	IN_SERVICE_NAME,
	IN_CHARGE_TYPE,
	IN_COST,
	IN_CURRENCY
};

static const char *const inputs[] = {
	"usage_date", "service_name", "charge_type", "cost", "currency", NULL
};

/* declared whatever a query reads: Daily x ServiceName x ChargeType */
static const char *const grain[] = {
	"usage_date", "granularity", "cost_type", "service_name", "charge_type",
	"cost", "currency", NULL
};

#define READS(i)	(1 << (i))

static const FuDerivedColumn columns[FOCUS_NUM_COLUMNS] = {
	[FOCUS_BILLEDCOST] = {NULL, READS(IN_COST)},
	[FOCUS_BILLINGCURRENCY] = {NULL, READS(IN_CURRENCY)},
	[FOCUS_BILLINGPERIODSTART] = {NULL, READS(IN_USAGE_DATE)},
	[FOCUS_BILLINGPERIODEND] = {NULL, READS(IN_USAGE_DATE)},
	[FOCUS_CHARGECATEGORY] = {NULL, READS(IN_CHARGE_TYPE)},
	[FOCUS_CHARGECLASS] = {NULL, READS(IN_CHARGE_TYPE)},
	[FOCUS_CHARGEFREQUENCY] = {NULL, READS(IN_CHARGE_TYPE)},
	/* the day's start: its window is the request's timePeriod */
	[FOCUS_CHARGEPERIODSTART] = {"usage_date", READS(IN_USAGE_DATE)},
	[FOCUS_CHARGEPERIODEND] = {NULL, READS(IN_USAGE_DATE)},
	[FOCUS_CONTRACTEDCOST] = {NULL, READS(IN_COST)},
	[FOCUS_EFFECTIVECOST] = {NULL, READS(IN_COST)},
	[FOCUS_SERVICECATEGORY] = {NULL, READS(IN_SERVICE_NAME)},
	[FOCUS_SERVICENAME] = {"service_name", READS(IN_SERVICE_NAME)},
};

/* ServiceName values and their FOCUS ServiceCategory */
static const FuFocusCategory categories[] = {
	{"Virtual Machines", "Compute"},
	{"Azure App Service", "Compute"},
	{"Functions", "Compute"},
	{"Azure Kubernetes Service", "Compute"},
	{"Container Instances", "Compute"},
	{"Storage", "Storage"},
	{"Backup", "Storage"},
	{"SQL Database", "Databases"},
	{"Azure Cosmos DB", "Databases"},
	{"Azure Database for PostgreSQL", "Databases"},
	{"Azure Database for MySQL", "Databases"},
	{"Redis Cache", "Databases"},
	{"Bandwidth", "Networking"},
	{"Virtual Network", "Networking"},
	{"Load Balancer", "Networking"},
	{"Application Gateway", "Networking"},
	{"Azure DNS", "Networking"},
	{"Azure Front Door Service", "Networking"},
	{"Azure Monitor", "Management and Governance"},
	{"Log Analytics", "Management and Governance"},
	{"Key Vault", "Security"},
	{"Microsoft Defender for Cloud", "Security"},
	{"Azure Synapse Analytics", "Analytics"},
	{"Azure Data Factory v2", "Analytics"},
	{"Azure Databricks", "Analytics"},
	{"Event Hubs", "Analytics"},
	{"Service Bus", "Integration"},
	{"Logic Apps", "Integration"},
	{"Azure OpenAI", "AI and Machine Learning"},
	{"Cognitive Services", "AI and Machine Learning"},
	{"Azure Machine Learning", "AI and Machine Learning"},
	{NULL, NULL}
};

/*
 * The id after prefix in the server's scope ("subscriptions/<id>/..."),
 * the scope the rows are billed under; NULL for another kind of scope.
 */
static char *
scope_id(FuScan *scan, const char *prefix)
{
	char	   *scope = fu_get_option(scan->server->options, "scope");
	char	   *sub = fu_get_option(scan->server->options, "subscription_id");
	size_t		n = strlen(prefix);
	char	   *id;

	if (scope == NULL)
		return strcmp(prefix, "subscriptions/") == 0 ? sub : NULL;
	if (scope[0] == '/')
		scope++;
	if (pg_strncasecmp(scope, prefix, n) != 0 || scope[n] == '\0')
		return NULL;
	id = pstrdup(scope + n);
	id[strcspn(id, "/")] = '\0';
	return id;
}

static void
azure_focus_derive(FuScan *scan, const Datum *in, const bool *innulls,
				   Datum *values, bool *nulls)
{
	const char *category = "Usage";
	const char *frequency = "Usage-Based";
	char	   *id;

	if (!innulls[IN_CHARGE_TYPE])
	{
		char	   *t = TextDatumGetCString(in[IN_CHARGE_TYPE]);

		/* Usage, Purchase, Refund, UnusedReservation, UnusedSavingsPlan... */
		if (strcmp(t, "Purchase") == 0)
		{
			category = "Purchase";
			frequency = "One-Time";
		}
		else if (strcmp(t, "Tax") == 0)
		{
			category = "Tax";
			frequency = "One-Time";
		}
		else if (strcmp(t, "Refund") == 0)
			fu_focus_text(values, nulls, FOCUS_CHARGECLASS, "Correction");
	}
	fu_focus_text(values, nulls, FOCUS_CHARGECATEGORY, category);
	fu_focus_text(values, nulls, FOCUS_CHARGEFREQUENCY, frequency);
	if (!innulls[IN_SERVICE_NAME])
	{
		fu_focus_set(values, nulls, FOCUS_SERVICENAME, in[IN_SERVICE_NAME]);
		fu_focus_text(values, nulls, FOCUS_SERVICECATEGORY,
					  fu_focus_service_category(categories,
												TextDatumGetCString(in[IN_SERVICE_NAME])));
	}
	if (!innulls[IN_USAGE_DATE])
	{
		DateADT		day = DatumGetDateADT(in[IN_USAGE_DATE]);

		fu_focus_set(values, nulls, FOCUS_CHARGEPERIODSTART,
					 TimestampTzGetDatum(fu_focus_midnight(day)));
		fu_focus_set(values, nulls, FOCUS_CHARGEPERIODEND,
					 TimestampTzGetDatum(fu_focus_midnight(day + 1)));
		fu_focus_billing_period(values, nulls, day);
	}
	fu_focus_copy(values, nulls, FOCUS_BILLEDCOST, in, innulls, IN_COST);
	fu_focus_copy(values, nulls, FOCUS_CONTRACTEDCOST, in, innulls, IN_COST);
	fu_focus_copy(values, nulls, FOCUS_EFFECTIVECOST, in, innulls, IN_COST);
	fu_focus_copy(values, nulls, FOCUS_BILLINGCURRENCY, in, innulls, IN_CURRENCY);
	if ((id = scope_id(scan, "subscriptions/")) != NULL)
		fu_focus_text(values, nulls, FOCUS_SUBACCOUNTID, id);
	if ((id = scope_id(scan, "providers/Microsoft.Billing/billingAccounts/")) != NULL)
		fu_focus_text(values, nulls, FOCUS_BILLINGACCOUNTID, id);
	fu_focus_text(values, nulls, FOCUS_PROVIDERNAME, "Microsoft");
	fu_focus_text(values, nulls, FOCUS_PUBLISHERNAME, "Microsoft");
	fu_focus_text(values, nulls, FOCUS_INVOICEISSUERNAME, "Microsoft");
}

static const FuDerived azure_focus = {
	.inner = &fu_source_azure_usage,
	.inputs = inputs,
	.grain = grain,
	.columns = columns,
	.derive = azure_focus_derive,
};

const FuSource fu_source_azure_focus = {
	.name = "azure_focus",
	.api = "Azure Cost Management Query (FOCUS 1.2)",
	.columns = fu_focus_columns,
	.ncolumns = FOCUS_NUM_COLUMNS,
	.paged = true,
	FU_DERIVED_CALLBACKS,
	.derived = &azure_focus,
	.docs = fu_focus_docs,
};
