/*-------------------------------------------------------------------------
 *
 * focus.c
 *		  gcp_focus: the FOCUS 1.2 columns over the BigQuery billing
 *		  export, as a derived source of gcp_cost (see derived.c).
 *
 * Grain: one row per row of the export (an hour of a SKU in a project),
 * as gcp_cost's.  BilledCost and EffectiveCost are cost plus credits,
 * ContractedCost the cost before credits, ListCost cost_at_list (list
 * prices, before credits); PricingQuantity and PricingUnit are the usage in
 * the unit the SKU is priced in.  The standard export has no resource ids.
 * The README lists the mapping.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "focus.h"
#include "utils/builtins.h"
#include "utils/datetime.h"

extern const FuSource fu_source_gcp_cost;

/* the gcp_cost columns a row is made of */
enum
{
	IN_USAGE_START_TIME,
	IN_USAGE_END_TIME,
	IN_INVOICE_MONTH,
	IN_BILLING_ACCOUNT_ID,
	IN_PROJECT_ID,
	IN_PROJECT_NAME,
	IN_SERVICE,
	IN_SKU,
	IN_SKU_ID,
	IN_REGION,
	IN_COST_TYPE,
	IN_CURRENCY,
	IN_USAGE_UNIT,
	IN_COST,
	IN_NET_COST,
	IN_USAGE_AMOUNT,
	IN_LABELS,
	IN_COST_AT_LIST,
	IN_PRICING_QUANTITY,
	IN_PRICING_UNIT
};

static const char *const inputs[] = {
	"usage_start_time", "usage_end_time", "invoice_month",
	"billing_account_id", "project_id", "project_name", "service", "sku",
	"sku_id", "region", "cost_type", "currency", "usage_unit", "cost",
	"net_cost", "usage_amount", "labels", "cost_at_list", "pricing_quantity",
	"pricing_unit", NULL
};

/* gcp_cost's rows are the export's, whatever it declares */
static const char *const grain[] = {
	"usage_start_time", "usage_end_time", "invoice_month",
	"billing_account_id", "project_id", "project_name", "service", "sku",
	"sku_id", "region", "cost_type", "currency", "usage_unit", "cost",
	"net_cost", "usage_amount", "labels", NULL
};

#define READS(i)	(1 << (i))

static const FuDerivedColumn columns[FOCUS_NUM_COLUMNS] = {
	[FOCUS_BILLEDCOST] = {NULL, READS(IN_NET_COST)},
	[FOCUS_BILLINGACCOUNTID] = {"billing_account_id", READS(IN_BILLING_ACCOUNT_ID)},
	[FOCUS_BILLINGCURRENCY] = {"currency", READS(IN_CURRENCY)},
	[FOCUS_BILLINGPERIODSTART] = {NULL, READS(IN_INVOICE_MONTH)},
	[FOCUS_BILLINGPERIODEND] = {NULL, READS(IN_INVOICE_MONTH)},
	[FOCUS_CHARGECATEGORY] = {NULL, READS(IN_COST_TYPE)},
	[FOCUS_CHARGEDESCRIPTION] = {NULL, READS(IN_SKU)},
	[FOCUS_CHARGEFREQUENCY] = {NULL, READS(IN_COST_TYPE)},
	[FOCUS_CHARGEPERIODSTART] = {"usage_start_time", READS(IN_USAGE_START_TIME)},
	[FOCUS_CHARGEPERIODEND] = {"usage_end_time", READS(IN_USAGE_END_TIME)},
	[FOCUS_CONSUMEDQUANTITY] = {NULL, READS(IN_USAGE_AMOUNT)},
	[FOCUS_CONSUMEDUNIT] = {NULL, READS(IN_USAGE_UNIT)},
	[FOCUS_CONTRACTEDCOST] = {NULL, READS(IN_COST)},
	[FOCUS_EFFECTIVECOST] = {NULL, READS(IN_NET_COST)},
	[FOCUS_LISTCOST] = {NULL, READS(IN_COST_AT_LIST)},
	[FOCUS_PRICINGQUANTITY] = {NULL, READS(IN_PRICING_QUANTITY)},
	[FOCUS_PRICINGUNIT] = {NULL, READS(IN_PRICING_UNIT)},
	[FOCUS_REGIONID] = {"region", READS(IN_REGION)},
	[FOCUS_REGIONNAME] = {NULL, READS(IN_REGION)},
	[FOCUS_SERVICECATEGORY] = {NULL, READS(IN_SERVICE)},
	[FOCUS_SERVICENAME] = {"service", READS(IN_SERVICE)},
	[FOCUS_SKUID] = {"sku_id", READS(IN_SKU_ID)},
	[FOCUS_SUBACCOUNTID] = {"project_id", READS(IN_PROJECT_ID)},
	[FOCUS_SUBACCOUNTNAME] = {NULL, READS(IN_PROJECT_NAME)},
	[FOCUS_TAGS] = {NULL, READS(IN_LABELS)},
};

/* service.description values and their FOCUS ServiceCategory */
static const FuFocusCategory categories[] = {
	{"Compute Engine", "Compute"},
	{"Kubernetes Engine", "Compute"},
	{"Cloud Run", "Compute"},
	{"Cloud Functions", "Compute"},
	{"App Engine", "Compute"},
	{"Cloud Storage", "Storage"},
	{"Filestore", "Storage"},
	{"Cloud SQL", "Databases"},
	{"Cloud Spanner", "Databases"},
	{"Cloud Bigtable", "Databases"},
	{"Cloud Firestore", "Databases"},
	{"Cloud Memorystore for Redis", "Databases"},
	{"BigQuery", "Analytics"},
	{"Dataflow", "Analytics"},
	{"Cloud Dataproc", "Analytics"},
	{"Cloud Pub/Sub", "Integration"},
	{"Networking", "Networking"},
	{"Cloud DNS", "Networking"},
	{"Cloud CDN", "Networking"},
	{"Cloud Load Balancing", "Networking"},
	{"Cloud Monitoring", "Management and Governance"},
	{"Cloud Logging", "Management and Governance"},
	{"Cloud Key Management Service (KMS)", "Security"},
	{"Secret Manager", "Security"},
	{"Vertex AI", "AI and Machine Learning"},
	{"Artifact Registry", "Developer Tools"},
	{"Cloud Build", "Developer Tools"},
	{NULL, NULL}
};

/* invoice.month "YYYYMM": its first day, or false */
static bool
invoice_month(const char *s, DateADT *d)
{
	int			y,
				m;

	if (strlen(s) != 6 || strspn(s, "0123456789") != 6)
		return false;
	y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	m = (s[4] - '0') * 10 + (s[5] - '0');
	if (m < 1 || m > 12)
		return false;
	*d = date2j(y, m, 1) - POSTGRES_EPOCH_JDATE;
	return true;
}

static void
gcp_focus_derive(FuScan *scan, const Datum *in, const bool *innulls, Datum *values,
				 bool *nulls)
{
	const char *category = "Usage";
	bool		usage = true;
	DateADT		month;

	if (!innulls[IN_COST_TYPE])
	{
		char	   *t = TextDatumGetCString(in[IN_COST_TYPE]);

		/* regular, tax, adjustment, rounding error */
		if (strcmp(t, "tax") == 0)
			category = "Tax";
		else if (strcmp(t, "regular") != 0)
			category = "Adjustment";
		usage = strcmp(t, "regular") == 0;
	}
	fu_focus_text(values, nulls, FOCUS_CHARGECATEGORY, category);
	fu_focus_text(values, nulls, FOCUS_CHARGEFREQUENCY, usage ? "Usage-Based" : "One-Time");
	if (!innulls[IN_SERVICE])
	{
		fu_focus_set(values, nulls, FOCUS_SERVICENAME, in[IN_SERVICE]);
		fu_focus_text(values, nulls, FOCUS_SERVICECATEGORY,
					  fu_focus_service_category(categories,
												TextDatumGetCString(in[IN_SERVICE])));
	}
	if (!innulls[IN_INVOICE_MONTH] &&
		invoice_month(TextDatumGetCString(in[IN_INVOICE_MONTH]), &month))
		fu_focus_billing_period(values, nulls, month);
	fu_focus_copy(values, nulls, FOCUS_BILLEDCOST, in, innulls, IN_NET_COST);
	fu_focus_copy(values, nulls, FOCUS_EFFECTIVECOST, in, innulls, IN_NET_COST);
	fu_focus_copy(values, nulls, FOCUS_CONTRACTEDCOST, in, innulls, IN_COST);
	fu_focus_copy(values, nulls, FOCUS_BILLINGACCOUNTID, in, innulls, IN_BILLING_ACCOUNT_ID);
	fu_focus_copy(values, nulls, FOCUS_BILLINGCURRENCY, in, innulls, IN_CURRENCY);
	fu_focus_copy(values, nulls, FOCUS_CHARGEDESCRIPTION, in, innulls, IN_SKU);
	fu_focus_copy(values, nulls, FOCUS_CHARGEPERIODSTART, in, innulls, IN_USAGE_START_TIME);
	fu_focus_copy(values, nulls, FOCUS_CHARGEPERIODEND, in, innulls, IN_USAGE_END_TIME);
	fu_focus_copy(values, nulls, FOCUS_CONSUMEDQUANTITY, in, innulls, IN_USAGE_AMOUNT);
	fu_focus_copy(values, nulls, FOCUS_CONSUMEDUNIT, in, innulls, IN_USAGE_UNIT);
	fu_focus_copy(values, nulls, FOCUS_LISTCOST, in, innulls, IN_COST_AT_LIST);
	fu_focus_copy(values, nulls, FOCUS_PRICINGQUANTITY, in, innulls, IN_PRICING_QUANTITY);
	fu_focus_copy(values, nulls, FOCUS_PRICINGUNIT, in, innulls, IN_PRICING_UNIT);
	fu_focus_copy(values, nulls, FOCUS_REGIONID, in, innulls, IN_REGION);
	fu_focus_copy(values, nulls, FOCUS_REGIONNAME, in, innulls, IN_REGION);
	fu_focus_copy(values, nulls, FOCUS_SKUID, in, innulls, IN_SKU_ID);
	fu_focus_copy(values, nulls, FOCUS_SUBACCOUNTID, in, innulls, IN_PROJECT_ID);
	fu_focus_copy(values, nulls, FOCUS_SUBACCOUNTNAME, in, innulls, IN_PROJECT_NAME);
	fu_focus_copy(values, nulls, FOCUS_TAGS, in, innulls, IN_LABELS);
	fu_focus_text(values, nulls, FOCUS_PROVIDERNAME, "Google Cloud");
	fu_focus_text(values, nulls, FOCUS_PUBLISHERNAME, "Google Cloud");
	fu_focus_text(values, nulls, FOCUS_INVOICEISSUERNAME, "Google");
}

static const FuDerived gcp_focus = {
	.inner = &fu_source_gcp_cost,
	.inputs = inputs,
	.grain = grain,
	.columns = columns,
	.derive = gcp_focus_derive,
};

const FuSource fu_source_gcp_focus = {
	.name = "gcp_focus",
	.api = "Google BigQuery jobs.query (Cloud Billing export, FOCUS 1.2)",
	.columns = fu_focus_columns,
	.ncolumns = FOCUS_NUM_COLUMNS,
	.paged = true,
	FU_DERIVED_CALLBACKS,
	.derived = &gcp_focus,
	.docs = fu_focus_docs,
};
