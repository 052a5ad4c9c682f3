/*-------------------------------------------------------------------------
 *
 * aws_ce.c
 *		  Cost Explorer request pieces shared by aws_cost and
 *		  aws_cost_forecast: Filter expressions and the AWS JSON 1.1 call.
 *
 * A Filter is an Expression with exactly one root per node: a leaf per
 * pushed qual ("Dimensions" or "Tags"), "Not" around <> and NOT IN, and
 * "And" over several leaves.  Leaf values are OR-ed by the API, as IN is.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "aws.h"
#include "finops_usage.h"
#include "utils/json.h"

/* Add the leaf of a bound =, <>, IN or NOT IN qual on key */
void
fu_ce_add_leaf(List **leaves, const char *type, const char *key, FuQual *q)
{
	StringInfoData leaf;
	bool		negated = (q->op == FU_OP_NE || q->op == FU_OP_NOT_IN);

	if (q->op == FU_OP_NOT_IN && q->nelems == 0)
		return;					/* NOT IN () excludes nothing */

	initStringInfo(&leaf);
	if (negated)
		appendStringInfoString(&leaf, "{\"Not\":");
	appendStringInfo(&leaf, "{\"%s\":{\"Key\":", type);
	escape_json(&leaf, key);
	appendStringInfoChar(&leaf, ',');
	fu_append_json_values(&leaf, q);
	appendStringInfoString(&leaf, "}}");
	if (negated)
		appendStringInfoChar(&leaf, '}');
	*leaves = lappend(*leaves, leaf.data);
}

/* Append ,"Filter":... for the leaves, if any */
void
fu_ce_append_filter(StringInfo body, List *leaves)
{
	ListCell   *lc;

	if (leaves == NIL)
		return;
	appendStringInfoString(body, ",\"Filter\":");
	if (list_length(leaves) > 1)
		appendStringInfoString(body, "{\"And\":[");
	foreach(lc, leaves)
	{
		if (foreach_current_index(lc) > 0)
			appendStringInfoChar(body, ',');
		appendStringInfoString(body, (char *) lfirst(lc));
	}
	if (list_length(leaves) > 1)
		appendStringInfoString(body, "]}");
}

/* Cost Explorer is global: one host, signed for us-east-1 */
char *
fu_ce_url(FuScan *scan)
{
	return fu_aws_endpoint(scan, "ce.us-east-1.amazonaws.com");
}

void
fu_ce_prepare(FuScan *scan, FuRequest *req, const char *operation)
{
	char	   *target = psprintf("AWSInsightsIndexService.%s", operation);

	fu_aws_prepare(scan, req, "ce", "us-east-1", target,
				   "application/x-amz-json-1.1", false);
}

/* A date of a Cost Explorer page ("2026-05-01"), or a clean ERROR */
DateADT
fu_ce_date(FuJsonWalk *w, const char *s)
{
	DateADT		d;

	if (!fu_parse_date(s, &d))
		fu_walk_malformed(w, psprintf("\"%s\" is not a date.", s));
	return d;
}
