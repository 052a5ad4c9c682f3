/*-------------------------------------------------------------------------
 *
 * docs.c
 *		  What the AWS tables and their columns mean, for the COMMENTs
 *		  IMPORT FOREIGN SCHEMA leaves on them (comment.c adds which
 *		  conditions push down and the closed sets of values).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "aws.h"

#define COST_DOC(what) what " for the row's period and group, in currency."
#define USAGE_DOC(what) what " for the row's period and group, in usage_unit."

const FuDoc fu_aws_docs[] = {
	/* tables */
	{"aws_cost", NULL, "Cost and usage by period, grouped by the dimension columns a query reads (at most two); the narrow aws_cost_by_* tables have a fixed grain."},
	{"aws_cost_by_service", NULL, "Cost and usage by period and service."},
	{"aws_cost_by_account", NULL, "Cost and usage by period and linked account."},
	{"aws_cost_by_region", NULL, "Cost and usage by period and region."},
	{"aws_cost_by_usage_type", NULL, "Cost and usage by period and usage type."},
	{"aws_cost_forecast", NULL, "Forecast cost by period for a filter (a row per value asked of service, linked_account, region), with its prediction interval."},
	{"aws_cost_by_resource", NULL, "Cost and usage by period, resource and region, for the last 14 days Cost Explorer keeps at resource level."},
	{"aws_focus", NULL, "FOCUS 1.2 cost rows by day, linked account and service (Cost Explorer groups by two dimensions at most)."},
	{"aws_metrics", NULL, "CloudWatch datapoints: one row per series, statistic and period bucket."},

	/* cost tables */
	{NULL, "period_start", "First day of the period (UTC)."},
	{NULL, "period_end", "Day after the period (exclusive, as the API gives it)."},
	{NULL, "granularity", "Length of the periods; without a condition, the default (DAILY)."},
	{NULL, "linked_account", "Member account id (12 digits)."},
	{NULL, "service", "Service name as Cost Explorer spells it (e.g. Amazon Elastic Compute Cloud - Compute)."},
	{NULL, "region", "Region of the cost (e.g. us-east-1); global services have NoRegion or global."},
	{NULL, "usage_type", "Usage type (e.g. USE1-BoxUsage:t3.micro)."},
	{NULL, "operation", "API operation billed (e.g. RunInstances)."},
	{NULL, "instance_type", "EC2, RDS or other instance type."},
	{NULL, "record_type", "Kind of charge: Usage, Tax, Credit, Refund, a fee..."},
	{NULL, "tag_key", "Cost allocation tag key the rows are grouped by (needed to see tag_value)."},
	{NULL, "tag_value", "Value of the tag_key tag; NULL for untagged cost."},
	{NULL, "unblended_cost", COST_DOC("Unblended cost (the rates of each account)")},
	{NULL, "blended_cost", COST_DOC("Blended cost (average rates across the organization)")},
	{NULL, "amortized_cost", COST_DOC("Amortized cost (upfront fees of reservations and savings plans spread over their term)")},
	{NULL, "net_unblended_cost", COST_DOC("Unblended cost after discounts")},
	{NULL, "net_amortized_cost", COST_DOC("Amortized cost after discounts")},
	{NULL, "usage_quantity", USAGE_DOC("Usage quantity")},
	{NULL, "normalized_usage_amount", USAGE_DOC("Usage in normalized units (instance size factors)")},
	{NULL, "currency", "ISO 4217 currency of the cost columns."},
	{NULL, "usage_unit", "Unit of usage_quantity (Hrs, GB-Mo...)."},
	{NULL, "estimated", "True while Cost Explorer may still revise the period's figures."},

	/* aws_cost_by_resource */
	{"aws_cost_by_resource", "granularity", "Length of the periods: DAILY (default) or HOURLY (if enabled in the account)."},
	{"aws_cost_by_resource", "resource_id", "Resource id (an EC2 instance id such as i-0abc...)."},
	{"aws_cost_by_resource", "region", "Region of the resource (e.g. us-east-1)."},
	{"aws_cost_by_resource", "service", "Service filter of the request; without a condition, Amazon Elastic Compute Cloud - Compute."},
	{"aws_cost_by_resource", "linked_account", "Linked account filter of the request; NULL without a condition (all accounts)."},
	{"aws_cost_by_resource", "usage_type", "Usage type filter of the request; NULL without a condition (all)."},

	/* aws_cost_forecast */
	{"aws_cost_forecast", "metric", "Cost metric forecast; without a condition UNBLENDED_COST."},
	{"aws_cost_forecast", "service", "Service the forecast is filtered to; NULL: every service."},
	{"aws_cost_forecast", "linked_account", "Linked account the forecast is filtered to; NULL: every account."},
	{"aws_cost_forecast", "region", "Region the forecast is filtered to; NULL: every region."},
	{"aws_cost_forecast", "prediction_interval", "Confidence level of lower_bound and upper_bound, in percent (51 to 99, default 80)."},
	{"aws_cost_forecast", "mean_value", "Forecast cost of the period, in currency."},
	{"aws_cost_forecast", "lower_bound", "Lower end of the prediction interval, in currency."},
	{"aws_cost_forecast", "upper_bound", "Upper end of the prediction interval, in currency."},

	/* aws_metrics */
	{"aws_metrics", "region", "Region of the series; without a condition the server's regions (or region)."},
	{"aws_metrics", "resource_type", "Kind of resource (ec2, rds, lambda, dynamodb, s3, elb, alb): its namespace and key dimension."},
	{"aws_metrics", "resource_id", "Value of the type's key dimension (an instance id, a DB identifier, a function name...)."},
	{"aws_metrics", "namespace", "CloudWatch namespace (AWS/EC2...)."},
	{"aws_metrics", "metric_name", "CloudWatch metric name (CPUUtilization...)."},
	{"aws_metrics", "dimensions", "Every dimension of the series, as a JSON object."},
	{"aws_metrics", "statistic", "Statistic of the datapoints; without a condition Average."},
	{"aws_metrics", "period", "Length of a datapoint's bucket, in seconds."},
	{"aws_metrics", "ts", "Start of the datapoint's bucket."},
	{"aws_metrics", "value", "Value of the statistic over the bucket, in unit."},
	{"aws_metrics", "unit", "Documented unit of the metric (Percent, Bytes...); NULL when not known."},
	{NULL, NULL, NULL}
};
