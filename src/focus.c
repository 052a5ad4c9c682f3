/*-------------------------------------------------------------------------
 *
 * focus.c
 *		  The FOCUS 1.2 columns of the <provider>_focus tables, their closed
 *		  sets of values, and helpers for the providers that fill them.
 *
 * Each provider maps its cost table onto these columns in its own
 * focus.c (a derived source, see derived.c); the columns and their
 * allowed values are FOCUS's, so they live here once.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"

#include "focus.h"

static const char *const charge_categories[] = {
	"Usage", "Purchase", "Tax", "Credit", "Adjustment", NULL
};

static const char *const charge_classes[] = {"Correction", NULL};

static const char *const charge_frequencies[] = {
	"One-Time", "Recurring", "Usage-Based", NULL
};

static const char *const service_categories[] = {
	"AI and Machine Learning", "Analytics", "Business Applications",
	"Compute", "Databases", "Developer Tools", "Multicloud", "Identity",
	"Integration", "Internet of Things", "Management and Governance",
	"Media", "Migration", "Mobile", "Networking", "Security", "Storage",
	"Web", "Other", NULL
};

#define TEXT_COL(name)		{name, TEXTOID, 0}
#define FILTER_COL(name)	{name, TEXTOID, FU_OPS_SET_NEG}
#define CLOSED_COL(name, set) {name, TEXTOID, FU_OPS_SET_NEG, 0, set}

const FuColumn fu_focus_columns[FOCUS_NUM_COLUMNS] = {
	[FOCUS_BILLEDCOST] = {"billedcost", NUMERICOID, 0},
	[FOCUS_BILLINGACCOUNTID] = FILTER_COL("billingaccountid"),
	[FOCUS_BILLINGACCOUNTNAME] = TEXT_COL("billingaccountname"),
	[FOCUS_BILLINGCURRENCY] = FILTER_COL("billingcurrency"),
	[FOCUS_BILLINGPERIODSTART] = {"billingperiodstart", TIMESTAMPTZOID, 0},
	[FOCUS_BILLINGPERIODEND] = {"billingperiodend", TIMESTAMPTZOID, 0},
	[FOCUS_CHARGECATEGORY] = CLOSED_COL("chargecategory", charge_categories),
	[FOCUS_CHARGECLASS] = CLOSED_COL("chargeclass", charge_classes),
	[FOCUS_CHARGEDESCRIPTION] = TEXT_COL("chargedescription"),
	[FOCUS_CHARGEFREQUENCY] = CLOSED_COL("chargefrequency", charge_frequencies),
	[FOCUS_CHARGEPERIODSTART] = {"chargeperiodstart", TIMESTAMPTZOID, FU_OPS_RANGE},
	[FOCUS_CHARGEPERIODEND] = {"chargeperiodend", TIMESTAMPTZOID, FU_OPS_RANGE},
	[FOCUS_CONSUMEDQUANTITY] = {"consumedquantity", NUMERICOID, 0},
	[FOCUS_CONSUMEDUNIT] = TEXT_COL("consumedunit"),
	[FOCUS_CONTRACTEDCOST] = {"contractedcost", NUMERICOID, 0},
	[FOCUS_EFFECTIVECOST] = {"effectivecost", NUMERICOID, 0},
	[FOCUS_INVOICEISSUERNAME] = TEXT_COL("invoiceissuername"),
	[FOCUS_LISTCOST] = {"listcost", NUMERICOID, 0},
	[FOCUS_PRICINGQUANTITY] = {"pricingquantity", NUMERICOID, 0},
	[FOCUS_PRICINGUNIT] = TEXT_COL("pricingunit"),
	[FOCUS_PROVIDERNAME] = TEXT_COL("providername"),
	[FOCUS_PUBLISHERNAME] = TEXT_COL("publishername"),
	[FOCUS_REGIONID] = FILTER_COL("regionid"),
	[FOCUS_REGIONNAME] = TEXT_COL("regionname"),
	[FOCUS_RESOURCEID] = FILTER_COL("resourceid"),
	[FOCUS_SERVICECATEGORY] = CLOSED_COL("servicecategory", service_categories),
	[FOCUS_SERVICENAME] = FILTER_COL("servicename"),
	[FOCUS_SKUID] = FILTER_COL("skuid"),
	[FOCUS_SUBACCOUNTID] = FILTER_COL("subaccountid"),
	[FOCUS_SUBACCOUNTNAME] = TEXT_COL("subaccountname"),
	[FOCUS_TAGS] = {"tags", JSONBOID, 0},
};

/* The ServiceCategory of a service: the provider's table, else Other */
const char *
fu_focus_service_category(const FuFocusCategory *table, const char *service)
{
	for (const FuFocusCategory *c = table; c->service; c++)
		if (strcmp(c->service, service) == 0)
			return c->category;
	return "Other";
}

void
fu_focus_set(Datum *values, bool *nulls, int col, Datum value)
{
	values[col] = value;
	nulls[col] = false;
}

void
fu_focus_text(Datum *values, bool *nulls, int col, const char *s)
{
	fu_focus_set(values, nulls, col, CStringGetTextDatum(s));
}

/* Column col is input i as it is (NULL stays NULL) */
void
fu_focus_copy(Datum *values, bool *nulls, int col,
			  const Datum *in, const bool *innulls, int input)
{
	if (!innulls[input])
		fu_focus_set(values, nulls, col, in[input]);
}

/* FOCUS times are UTC: a day starts at its midnight there */
TimestampTz
fu_focus_midnight(DateADT d)
{
	if (DATE_NOT_FINITE(d))
		return d == DATEVAL_NOBEGIN ? DT_NOBEGIN : DT_NOEND;
	return (TimestampTz) d * USECS_PER_DAY;
}

/* BillingPeriodStart/End: the calendar month of day, [start, end) */
void
fu_focus_billing_period(Datum *values, bool *nulls, DateADT day)
{
	DateADT		month = fu_month_floor(day);

	fu_focus_set(values, nulls, FOCUS_BILLINGPERIODSTART,
				 TimestampTzGetDatum(fu_focus_midnight(month)));
	fu_focus_set(values, nulls, FOCUS_BILLINGPERIODEND,
				 TimestampTzGetDatum(fu_focus_midnight(fu_add_months(month, 1))));
}

/* What the FOCUS columns mean (FOCUS 1.2); providers add their mapping */
const FuDoc fu_focus_docs[] = {
	{NULL, "billedcost", "FOCUS BilledCost: the charge as invoiced, in billingcurrency."},
	{NULL, "billingaccountid", "FOCUS BillingAccountId: the account invoiced."},
	{NULL, "billingaccountname", "FOCUS BillingAccountName."},
	{NULL, "billingcurrency", "FOCUS BillingCurrency: ISO 4217 currency of the cost columns."},
	{NULL, "billingperiodstart", "FOCUS BillingPeriodStart: start of the billing month."},
	{NULL, "billingperiodend", "FOCUS BillingPeriodEnd: end of the billing month (exclusive)."},
	{NULL, "chargecategory", "FOCUS ChargeCategory: Usage, Purchase, Tax, Credit or Adjustment."},
	{NULL, "chargeclass", "FOCUS ChargeClass: Correction for a correction of an earlier period, else NULL."},
	{NULL, "chargedescription", "FOCUS ChargeDescription."},
	{NULL, "chargefrequency", "FOCUS ChargeFrequency: One-Time, Recurring or Usage-Based."},
	{NULL, "chargeperiodstart", "FOCUS ChargePeriodStart: start of the charge's period (UTC)."},
	{NULL, "chargeperiodend", "FOCUS ChargePeriodEnd: end of the charge's period (exclusive)."},
	{NULL, "consumedquantity", "FOCUS ConsumedQuantity, in consumedunit."},
	{NULL, "consumedunit", "FOCUS ConsumedUnit."},
	{NULL, "contractedcost", "FOCUS ContractedCost: cost at the negotiated rates, in billingcurrency."},
	{NULL, "effectivecost", "FOCUS EffectiveCost: cost after discounts, prepayments amortized, in billingcurrency."},
	{NULL, "invoiceissuername", "FOCUS InvoiceIssuerName."},
	{NULL, "listcost", "FOCUS ListCost: cost at public list prices, in billingcurrency (NULL where the API does not give it)."},
	{NULL, "pricingquantity", "FOCUS PricingQuantity, in pricingunit."},
	{NULL, "pricingunit", "FOCUS PricingUnit."},
	{NULL, "providername", "FOCUS ProviderName."},
	{NULL, "publishername", "FOCUS PublisherName."},
	{NULL, "regionid", "FOCUS RegionId (e.g. us-east-1)."},
	{NULL, "regionname", "FOCUS RegionName."},
	{NULL, "resourceid", "FOCUS ResourceId."},
	{NULL, "servicecategory", "FOCUS ServiceCategory (Compute, Storage, Databases...), from the provider's lookup of servicename."},
	{NULL, "servicename", "FOCUS ServiceName: the provider's service name."},
	{NULL, "skuid", "FOCUS SkuId."},
	{NULL, "subaccountid", "FOCUS SubAccountId (AWS linked account, GCP project, Azure subscription)."},
	{NULL, "subaccountname", "FOCUS SubAccountName."},
	{NULL, "tags", "FOCUS Tags: key-value tags of the charge, as a JSON object."},
	{NULL, NULL, NULL}
};
