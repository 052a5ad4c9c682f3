/*-------------------------------------------------------------------------
 *
 * focus.c
 *		  aws_focus: the FOCUS 1.2 columns over Cost Explorer, as a derived
 *		  source of aws_cost (see derived.c).
 *
 * Grain: one row per day x linked account x service (GroupBy
 * LINKED_ACCOUNT and SERVICE, the two Cost Explorer allows), whatever a
 * query reads.  What the API cannot give at that grain (the payer account,
 * regions, list prices, quantities of mixed units) is NULL; ChargeCategory
 * is Tax for the "Tax" service and Usage otherwise (credits, refunds and
 * fees are netted into their service's row).  The README lists the
 * mapping.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "focus.h"
#include "utils/builtins.h"

extern const FuSource fu_source_aws_cost;

/* the aws_cost columns a row is made of */
enum
{
	IN_PERIOD_START,
	IN_PERIOD_END,
	IN_LINKED_ACCOUNT,
	IN_SERVICE,
	IN_UNBLENDED_COST,
	IN_NET_AMORTIZED_COST,
	IN_CURRENCY
};

static const char *const inputs[] = {
	"period_start", "period_end", "linked_account", "service",
	"unblended_cost", "net_amortized_cost", "currency", NULL
};

/* declared whatever a query reads: DAILY x linked account x service */
static const char *const grain[] = {
	"period_start", "period_end", "granularity", "linked_account", "service",
	"unblended_cost", "net_amortized_cost", "currency", "estimated", NULL
};

#define READS(i)	(1 << (i))

static const FuDerivedColumn columns[FOCUS_NUM_COLUMNS] = {
	[FOCUS_BILLEDCOST] = {NULL, READS(IN_UNBLENDED_COST)},
	[FOCUS_BILLINGCURRENCY] = {NULL, READS(IN_CURRENCY)},
	[FOCUS_BILLINGPERIODSTART] = {NULL, READS(IN_PERIOD_START)},
	[FOCUS_BILLINGPERIODEND] = {NULL, READS(IN_PERIOD_START)},
	[FOCUS_CHARGECATEGORY] = {NULL, READS(IN_SERVICE)},
	[FOCUS_CHARGEFREQUENCY] = {NULL, READS(IN_SERVICE)},
	[FOCUS_CHARGEPERIODSTART] = {"period_start", READS(IN_PERIOD_START)},
	[FOCUS_CHARGEPERIODEND] = {"period_end", READS(IN_PERIOD_END)},
	[FOCUS_CONTRACTEDCOST] = {NULL, READS(IN_UNBLENDED_COST)},
	[FOCUS_EFFECTIVECOST] = {NULL, READS(IN_NET_AMORTIZED_COST)},
	[FOCUS_SERVICECATEGORY] = {NULL, READS(IN_SERVICE)},
	[FOCUS_SERVICENAME] = {"service", READS(IN_SERVICE)},
	[FOCUS_SUBACCOUNTID] = {"linked_account", READS(IN_LINKED_ACCOUNT)},
};

/* Cost Explorer's SERVICE values and their FOCUS ServiceCategory */
static const FuFocusCategory categories[] = {
	{"Amazon Elastic Compute Cloud - Compute", "Compute"},
	{"EC2 - Other", "Compute"},
	{"AWS Lambda", "Compute"},
	{"Amazon Elastic Container Service", "Compute"},
	{"Amazon Elastic Container Service for Kubernetes", "Compute"},
	{"Amazon Lightsail", "Compute"},
	{"Savings Plans for AWS Compute usage", "Compute"},
	{"Amazon Simple Storage Service", "Storage"},
	{"Amazon Elastic File System", "Storage"},
	{"Amazon Glacier", "Storage"},
	{"AWS Backup", "Storage"},
	{"Amazon Relational Database Service", "Databases"},
	{"Amazon DynamoDB", "Databases"},
	{"Amazon ElastiCache", "Databases"},
	{"Amazon DocumentDB (with MongoDB compatibility)", "Databases"},
	{"Amazon Redshift", "Analytics"},
	{"Amazon Athena", "Analytics"},
	{"AWS Glue", "Analytics"},
	{"Amazon Kinesis", "Analytics"},
	{"Amazon OpenSearch Service", "Analytics"},
	{"Amazon Elastic Load Balancing", "Networking"},
	{"Amazon Virtual Private Cloud", "Networking"},
	{"Amazon CloudFront", "Networking"},
	{"Amazon Route 53", "Networking"},
	{"AWS Data Transfer", "Networking"},
	{"AmazonCloudWatch", "Management and Governance"},
	{"AWS CloudTrail", "Management and Governance"},
	{"AWS Config", "Management and Governance"},
	{"AWS Key Management Service", "Security"},
	{"AWS Secrets Manager", "Security"},
	{"AWS WAF", "Security"},
	{"Amazon GuardDuty", "Security"},
	{"Amazon Cognito", "Identity"},
	{"Amazon SageMaker", "AI and Machine Learning"},
	{"Amazon Bedrock", "AI and Machine Learning"},
	{"Amazon Simple Queue Service", "Integration"},
	{"Amazon Simple Notification Service", "Integration"},
	{"AWS Step Functions", "Integration"},
	{"Amazon API Gateway", "Web"},
	{NULL, NULL}
};

/* the SERVICE Cost Explorer books tax under */
#define TAX_SERVICE "Tax"

static void
aws_focus_derive(FuScan *scan, const Datum *in, const bool *innulls, Datum *values,
				 bool *nulls)
{
	bool		tax = false;

	if (!innulls[IN_SERVICE])
	{
		char	   *service = TextDatumGetCString(in[IN_SERVICE]);

		tax = strcmp(service, TAX_SERVICE) == 0;
		fu_focus_set(values, nulls, FOCUS_SERVICENAME, in[IN_SERVICE]);
		fu_focus_text(values, nulls, FOCUS_SERVICECATEGORY,
					  fu_focus_service_category(categories, service));
	}
	fu_focus_copy(values, nulls, FOCUS_BILLEDCOST, in, innulls, IN_UNBLENDED_COST);
	fu_focus_copy(values, nulls, FOCUS_CONTRACTEDCOST, in, innulls, IN_UNBLENDED_COST);
	fu_focus_copy(values, nulls, FOCUS_EFFECTIVECOST, in, innulls, IN_NET_AMORTIZED_COST);
	fu_focus_copy(values, nulls, FOCUS_BILLINGCURRENCY, in, innulls, IN_CURRENCY);
	fu_focus_copy(values, nulls, FOCUS_SUBACCOUNTID, in, innulls, IN_LINKED_ACCOUNT);
	if (!innulls[IN_PERIOD_START])
	{
		DateADT		start = DatumGetDateADT(in[IN_PERIOD_START]);

		fu_focus_set(values, nulls, FOCUS_CHARGEPERIODSTART,
					 TimestampTzGetDatum(fu_focus_midnight(start)));
		fu_focus_billing_period(values, nulls, start);
	}
	if (!innulls[IN_PERIOD_END])
		fu_focus_set(values, nulls, FOCUS_CHARGEPERIODEND,
					 TimestampTzGetDatum(fu_focus_midnight(DatumGetDateADT(in[IN_PERIOD_END]))));
	fu_focus_text(values, nulls, FOCUS_CHARGECATEGORY, tax ? "Tax" : "Usage");
	fu_focus_text(values, nulls, FOCUS_CHARGEFREQUENCY, tax ? "One-Time" : "Usage-Based");
	fu_focus_text(values, nulls, FOCUS_PROVIDERNAME, "AWS");
	fu_focus_text(values, nulls, FOCUS_PUBLISHERNAME, "AWS");
	fu_focus_text(values, nulls, FOCUS_INVOICEISSUERNAME, "AWS");
}

static const FuDerived aws_focus = {
	.inner = &fu_source_aws_cost,
	.inputs = inputs,
	.grain = grain,
	.columns = columns,
	.derive = aws_focus_derive,
};

const FuSource fu_source_aws_focus = {
	.name = "aws_focus",
	.api = "AWS Cost Explorer GetCostAndUsage (FOCUS 1.2)",
	.columns = fu_focus_columns,
	.ncolumns = FOCUS_NUM_COLUMNS,
	.call_price = 0.01,
	.paged = true,
	FU_DERIVED_CALLBACKS,
	.derived = &aws_focus,
	.docs = fu_focus_docs,
};
