/*-------------------------------------------------------------------------
 *
 * ce.c
 *		  Cost Explorer pieces shared by aws_cost and aws_cost_forecast:
 *		  the AWS JSON 1.1 call, Filter expressions, and TimePeriods of
 *		  answers.
 *
 * A Filter is an Expression with exactly one root per node: a leaf per
 * pushed qual ("Dimensions" or "Tags"), "Not" around <> and NOT IN, and
 * "And" over several leaves.  Leaf values are OR-ed by the API, as IN is.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "aws.h"
#include "utils/json.h"

#define CE_HOST		"ce.us-east-1.amazonaws.com"
#define CE_SCOPE	"ce/us-east-1"
#define CE_TARGET	"AWSInsightsIndexService."

/*
 * A Cost Explorer call of the scan.  The service is global: one host,
 * signed for us-east-1.
 */
FuRequest *
fu_ce_request(FuScan *scan, const char *operation, const char *body)
{
	FuRequest  *req = fu_request_new(scan,
									 psprintf("AWS Cost Explorer %s", operation),
									 "POST",
									 fu_base_url(scan->server, CE_HOST), "/");

	req->scope = CE_SCOPE;
	fu_request_header(req, "X-Amz-Target", psprintf(CE_TARGET "%s", operation));
	fu_request_body(req, "application/x-amz-json-1.1", body, strlen(body));
	return req;
}

/* Add a leaf: key's value is one of values (or, negated, none of them) */
void
fu_ce_add_values_leaf(List **leaves, const char *type, const char *key,
					  List *values, bool negated)
{
	StringInfoData leaf;
	ListCell   *lc;

	initStringInfo(&leaf);
	if (negated)
		appendStringInfoString(&leaf, "{\"Not\":");
	appendStringInfo(&leaf, "{\"%s\":{\"Key\":", type);
	escape_json(&leaf, key);
	appendStringInfoString(&leaf, ",\"Values\":[");
	foreach(lc, values)
	{
		if (foreach_current_index(lc) > 0)
			appendStringInfoChar(&leaf, ',');
		escape_json(&leaf, (char *) lfirst(lc));
	}
	appendStringInfoString(&leaf, "]}}");
	if (negated)
		appendStringInfoChar(&leaf, '}');
	*leaves = lappend(*leaves, leaf.data);
}

/* Add the leaf of a bound =, <>, IN or NOT IN qual on key */
void
fu_ce_add_leaf(List **leaves, const char *type, const char *key, FuQual *q)
{
	if (q->op == FU_OP_NOT_IN && q->nelems == 0)
		return;					/* NOT IN () excludes nothing */
	fu_ce_add_values_leaf(leaves, type, key, fu_qual_strings(q),
						  q->op == FU_OP_NE || q->op == FU_OP_NOT_IN);
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

/* A date of a Cost Explorer page ("2026-05-01"), or a clean ERROR */
static DateADT
ce_date(FuJsonWalk *w, const char *s)
{
	DateADT		d;

	if (!fu_parse_date(s, &d))
		fu_walk_malformed(w, psprintf("\"%s\" is not a date.", s));
	return d;
}

/* ---------- TimePeriod {"Start": "...", "End": "..."} of an answer ---------- */

void
fu_ce_period_begin(CeTimePeriod *p)
{
	p->start = DATEVAL_NOBEGIN;
	p->end = DATEVAL_NOBEGIN;
}

/*
 * A scalar of a list entry's TimePeriod (level 4, the entry being level
 * 3): if it is its Start or End, take it.
 */
bool
fu_ce_period_member(FuJsonWalk *w, int period_code, int start_code,
					int end_code, char *token, FuJsonToken type,
					CeTimePeriod *p)
{
	if (w->depth != 4 || !fu_walk_at(w, 3, period_code) ||
		type != FU_JSON_STRING)
		return false;
	if (fu_walk_at(w, 4, start_code))
		p->start = ce_date(w, token);
	else if (fu_walk_at(w, 4, end_code))
		p->end = ce_date(w, token);
	return true;
}

/* At the end of a list entry: its TimePeriod must be complete */
void
fu_ce_period_check(FuJsonWalk *w, const CeTimePeriod *p, const char *list)
{
	if (p->start == DATEVAL_NOBEGIN || p->end == DATEVAL_NOBEGIN)
		fu_walk_malformed(w, psprintf("A %s entry has no complete TimePeriod.",
									  list));
}

static void
each_filter(FuScan *scan, void *state, List **values, int f, CeFilter *cur,
			CeAddRequest add)
{
	ListCell   *lc;

	if (f == CE_NUM_FILTERS)
	{
		CeFilter   *filter = palloc(sizeof(CeFilter));

		*filter = *cur;
		for (int i = 0; i < CE_NUM_FILTERS; i++)
			if (filter->values[i])
				filter->datums[i] = fu_text_datum(filter->values[i]);
		add(scan, state, filter);
		return;
	}
	if (values[f] == NIL)
	{
		cur->values[f] = NULL;
		each_filter(scan, state, values, f + 1, cur, add);
		return;
	}
	foreach(lc, values[f])
	{
		cur->values[f] = (char *) lfirst(lc);
		each_filter(scan, state, values, f + 1, cur, add);
	}
}

/*
 * add() one request per combination of values[f] (NIL: that filter is not
 * set), in the current memory context
 */
void
fu_ce_each_filter(FuScan *scan, void *state, List **values, CeAddRequest add)
{
	CeFilter	cur;

	memset(&cur, 0, sizeof(cur));
	each_filter(scan, state, values, 0, &cur, add);
}
