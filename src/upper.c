/*-------------------------------------------------------------------------
 *
 * upper.c
 *		  Aggregate pushdown: a GROUP BY query over one foreign table whose
 *		  quals all push down exactly becomes one foreign scan that returns
 *		  the groups, when the source says its API computes them exactly as
 *		  PostgreSQL would (as postgres_fdw does it).
 *
 * The scan outputs the grouping keys and the aggregates (its
 * fdw_scan_tlist); the query's own target list, HAVING, ORDER BY and
 * LIMIT are evaluated on them locally, so they stay correct whatever the
 * API does with them.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/transam.h"
#include "catalog/pg_aggregate.h"
#include "catalog/pg_type.h"
#include "engine.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/planmain.h"
#include "optimizer/tlist.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"

bool		fu_aggregate_pushdown = true;

/* Planner state of an aggregate path, in the upper rel's fdw_private */
typedef struct FuUpperInfo
{
	FuRelInfo  *fpinfo;			/* the foreign table's */
	List	   *items;			/* FuUpperItem * */
	List	   *exprs;			/* the expression of each item */
	List	   *having;			/* Expr *, evaluated locally */
	FuPathPlan *pp;
} FuUpperInfo;

static const char *const upper_names[] = {
	"group", "month", "day", "count", "count", "sum", "min", "max", "avg"
};

const char *
fu_upper_name(FuUpperKind kind)
{
	return upper_names[kind];
}

/* The column of the relation a Var is (relabels looked through), or -1 */
static int
var_column(Expr *e, Index relid, FuRelInfo *fpinfo)
{
	while (e && IsA(e, RelabelType))
		e = ((RelabelType *) e)->arg;
	if (e && IsA(e, Var) && ((Var *) e)->varno == relid &&
		((Var *) e)->varlevelsup == 0 && ((Var *) e)->varattno > 0)
		return fpinfo->attr_to_col[((Var *) e)->varattno];
	return -1;
}

/*
 * Groups and min/max follow the expression's collation: the provider's
 * byte comparison agrees only with a deterministic one's equality.
 */
static bool
deterministic(Node *e)
{
	Oid			coll = exprCollation(e);

	return !OidIsValid(coll) || get_collation_isdeterministic(coll);
}

/*
 * (col AT TIME ZONE 'UTC')::date of a timestamptz column: the UTC day,
 * whatever the session's TimeZone
 */
static bool
utc_day_item(Expr *e, Index relid, FuRelInfo *fpinfo, FuUpperItem *it)
{
	FuncExpr   *cast = (FuncExpr *) e;
	FuncExpr   *tz;
	Const	   *zone;

	if (!IsA(e, FuncExpr) || cast->funcid != F_DATE_TIMESTAMP ||
		list_length(cast->args) != 1)
		return false;
	tz = (FuncExpr *) linitial(cast->args);
	if (!IsA(tz, FuncExpr) || tz->funcid != F_TIMEZONE_TEXT_TIMESTAMPTZ ||
		list_length(tz->args) != 2)
		return false;
	zone = (Const *) linitial(tz->args);
	if (!IsA(zone, Const) || zone->constisnull || zone->consttype != TEXTOID ||
		pg_strcasecmp(TextDatumGetCString(zone->constvalue), "UTC") != 0)
		return false;
	if ((it->col = var_column((Expr *) lsecond(tz->args), relid, fpinfo)) < 0 ||
		fpinfo->source->columns[it->col].type != TIMESTAMPTZOID)
		return false;
	it->kind = FU_UPPER_GROUP_UTC_DAY;
	return true;
}

/*
 * A grouping key the engine knows: a column, date_trunc('month', col) of a
 * date column (through its implicit cast to a timestamp), or the UTC day
 * of a timestamptz column.
 */
static bool
group_item(Expr *e, Index relid, FuRelInfo *fpinfo, FuUpperItem *it)
{
	if (!deterministic((Node *) e))
		return false;
	it->type = exprType((Node *) e);
	it->kind = FU_UPPER_GROUP;
	if ((it->col = var_column(e, relid, fpinfo)) >= 0)
		return true;
	if (utc_day_item(e, relid, fpinfo, it))
		return true;
	if (IsA(e, FuncExpr) &&
		(((FuncExpr *) e)->funcid == F_DATE_TRUNC_TEXT_TIMESTAMPTZ ||
		 ((FuncExpr *) e)->funcid == F_DATE_TRUNC_TEXT_TIMESTAMP) &&
		list_length(((FuncExpr *) e)->args) == 2)
	{
		Const	   *unit = (Const *) linitial(((FuncExpr *) e)->args);
		Expr	   *arg = (Expr *) lsecond(((FuncExpr *) e)->args);

		if (!IsA(unit, Const) || unit->constisnull || unit->consttype != TEXTOID ||
			pg_strcasecmp(TextDatumGetCString(unit->constvalue), "month") != 0)
			return false;
		if (IsA(arg, FuncExpr) &&
			(((FuncExpr *) arg)->funcid == F_TIMESTAMPTZ_DATE ||
			 ((FuncExpr *) arg)->funcid == F_TIMESTAMP_DATE) &&
			list_length(((FuncExpr *) arg)->args) == 1)
			arg = (Expr *) linitial(((FuncExpr *) arg)->args);
		else
			return false;
		if ((it->col = var_column(arg, relid, fpinfo)) < 0 ||
			fpinfo->source->columns[it->col].type != DATEOID)
			return false;
		it->kind = FU_UPPER_GROUP_MONTH;
		return true;
	}
	return false;
}

/* An aggregate the engine knows: count(*), or count/sum/min/max/avg(col) */
static bool
agg_item(Aggref *a, Index relid, FuRelInfo *fpinfo, FuUpperItem *it)
{
	static const char *const names[] = {"count", "sum", "min", "max", "avg", NULL};
	static const FuUpperKind kinds[] = {
		FU_UPPER_COUNT, FU_UPPER_SUM, FU_UPPER_MIN, FU_UPPER_MAX, FU_UPPER_AVG
	};
	char	   *name;
	TargetEntry *te;

	if (a->aggfnoid >= FirstNormalObjectId || a->aggdistinct || a->aggorder ||
		a->aggfilter || a->aggvariadic || a->aggkind != AGGKIND_NORMAL ||
		a->agglevelsup != 0 || a->aggsplit != AGGSPLIT_SIMPLE ||
		(OidIsValid(a->inputcollid) &&
		 !get_collation_isdeterministic(a->inputcollid)))
		return false;
	name = get_func_name(a->aggfnoid);
	if (name == NULL)
		return false;
	it->type = a->aggtype;
	if (a->aggstar)
	{
		it->kind = FU_UPPER_COUNT_STAR;
		it->col = -1;
		return strcmp(name, "count") == 0;
	}
	if (list_length(a->args) != 1)
		return false;
	te = linitial_node(TargetEntry, a->args);
	if ((it->col = var_column(te->expr, relid, fpinfo)) < 0)
		return false;
	for (int i = 0; names[i]; i++)
		if (strcmp(name, names[i]) == 0)
		{
			it->kind = kinds[i];
			return true;
		}
	return false;
}

/* Add the item of expression e, unless it is there already */
static void
add_item(FuUpperInfo *ui, Expr *e, FuUpperItem *it)
{
	if (list_member(ui->exprs, e))
		return;
	ui->exprs = lappend(ui->exprs, e);
	ui->items = lappend(ui->items, it);
}

/*
 * The aggregates and columns an expression over the groups uses: each
 * aggregate an item, each column one of the grouping keys.
 */
static bool
add_uses(FuUpperInfo *ui, Node *expr, Index relid)
{
	ListCell   *lc;

	foreach(lc, pull_var_clause(expr, PVC_INCLUDE_AGGREGATES |
								PVC_RECURSE_PLACEHOLDERS))
	{
		Node	   *n = (Node *) lfirst(lc);

		if (IsA(n, Aggref))
		{
			FuUpperItem *it = palloc0(sizeof(FuUpperItem));

			if (!agg_item((Aggref *) n, relid, ui->fpinfo, it))
				return false;
			add_item(ui, (Expr *) n, it);
		}
		else if (!list_member(ui->exprs, n))
			return false;		/* a column that is not a grouping key */
	}
	return true;
}

void
fuGetForeignUpperPaths(PlannerInfo *root, UpperRelationKind stage,
					   RelOptInfo *input_rel, RelOptInfo *output_rel,
					   void *extra)
{
	FuRelInfo  *fpinfo = (FuRelInfo *) input_rel->fdw_private;
	Query	   *parse = root->parse;
	PathTarget *target = root->upper_targets[UPPERREL_GROUP_AGG];
	GroupPathExtraData *gextra = (GroupPathExtraData *) extra;
	FuUpperInfo *ui;
	FuPlanInfo *pi;
	FuPathPlan *pp;
	ListCell   *lc;
	ListCell   *le;
	List	   *rest = NIL;
	List	   *ordered = NIL;
	List	   *ordered_exprs = NIL;
	Cost		startup;
	int			i;

	if (stage != UPPERREL_GROUP_AGG || !fu_aggregate_pushdown ||
		output_rel->fdw_private != NULL || fpinfo == NULL ||
		input_rel->reloptkind != RELOPT_BASEREL ||
		fpinfo->source->aggregates == NULL || parse->groupingSets ||
		parse->hasWindowFuncs || parse->hasTargetSRFs ||
		gextra->patype != PARTITIONWISE_AGGREGATE_NONE ||
		!bms_is_empty(input_rel->lateral_relids))
		return;

	/*
	 * A qual evaluated locally would have to go before the grouping; a scan
	 * the source refused cannot be answered grouped either.
	 */
	if (fpinfo->base_other != NIL ||
		((FuPathPlan *) linitial(fpinfo->paths))->refusal != NULL)
		return;
	foreach(lc, fpinfo->base_quals)
		if (((FuQual *) lfirst(lc))->pushdown != FU_PUSH_EXACT)
			return;

	ui = palloc0(sizeof(FuUpperInfo));
	ui->fpinfo = fpinfo;

	/* the grouping keys first, then what the rest of the target uses */
	i = 0;
	foreach(lc, target->exprs)
	{
		Expr	   *e = (Expr *) lfirst(lc);
		Index		sgref = get_pathtarget_sortgroupref(target, i++);

		if (sgref && get_sortgroupref_clause_noerr(sgref, parse->groupClause))
		{
			FuUpperItem *it = palloc0(sizeof(FuUpperItem));

			if (!group_item(e, input_rel->relid, fpinfo, it))
				return;
			add_item(ui, e, it);
		}
		else
			rest = lappend(rest, e);
	}
	foreach(lc, rest)
		if (!add_uses(ui, (Node *) lfirst(lc), input_rel->relid))
			return;
	/* HAVING: an implicit-AND list, evaluated on the scan's groups */
	if (gextra->havingQual)
	{
		if (!add_uses(ui, gextra->havingQual, input_rel->relid))
			return;
		ui->having = (List *) gextra->havingQual;
	}

	/* groups first, as the provider answers them */
	forboth(lc, ui->items, le, ui->exprs)
		if (FU_UPPER_IS_GROUP((FuUpperItem *) lfirst(lc)))
		{
			ordered = lappend(ordered, lfirst(lc));
			ordered_exprs = lappend(ordered_exprs, lfirst(le));
		}
	forboth(lc, ui->items, le, ui->exprs)
		if (!FU_UPPER_IS_GROUP((FuUpperItem *) lfirst(lc)))
		{
			ordered = lappend(ordered, lfirst(lc));
			ordered_exprs = lappend(ordered_exprs, lfirst(le));
		}
	ui->items = ordered;
	ui->exprs = ordered_exprs;

	/* ask the source */
	pi = palloc0(sizeof(FuPlanInfo));
	pi->source = fpinfo->source;
	pi->root = root;
	pi->baserel = input_rel;
	pi->table = fpinfo->table;
	pi->server = fpinfo->server;
	pi->quals = fpinfo->base_quals;
	pi->declared = fpinfo->declared;
	pi->upper = ui->items;
	foreach(lc, ui->items)
	{
		FuUpperItem *it = (FuUpperItem *) lfirst(lc);

		if (it->col >= 0)
			pi->needed = bms_add_member(pi->needed, it->col);
	}
	if (ui->items == NIL || !fpinfo->source->aggregates(pi))
		return;
	pi->rows = 100;
	pi->calls = 1;
	pp = palloc0(sizeof(FuPathPlan));
	pp->quals = fpinfo->base_quals;
	pp->needed = pi->needed;
	pp->source_plan = fpinfo->source->plan(pi);
	if (pi->refusal_message)
		return;
	pp->calls = pi->calls;
	pp->fetched = pp->rows = clamp_row_est(pi->rows);
	ui->pp = pp;
	output_rel->fdw_private = ui;

	/* as a scan's, with fewer rows to parse and nothing to aggregate */
	startup = pp->calls * (100.0 + 100000.0 * fpinfo->source->call_price);
	add_path(output_rel, (Path *)
			 create_foreign_upper_path(root, output_rel, target, pp->rows,
									   startup,
									   startup + pp->rows * cpu_tuple_cost * 10,
									   NIL, NULL, NIL));
}

/* The plan of an aggregate path: its keys and aggregates are the scan's */
ForeignScan *
fu_upper_plan(PlannerInfo *root, RelOptInfo *upperrel, ForeignPath *best_path,
			  List *tlist, Plan *outer_plan)
{
	FuUpperInfo *ui = (FuUpperInfo *) upperrel->fdw_private;
	List	   *scan_tlist = NIL;
	List	   *qual_list = NIL;
	List	   *fdw_exprs = NIL;
	List	   *needed = NIL;
	List	   *upper = NIL;
	ListCell   *lc;
	ListCell   *le;
	int			i;

	forboth(lc, ui->items, le, ui->exprs)
	{
		FuUpperItem *it = (FuUpperItem *) lfirst(lc);

		scan_tlist = lappend(scan_tlist,
							 makeTargetEntry((Expr *) lfirst(le),
											 list_length(scan_tlist) + 1,
											 NULL, false));
		upper = lappend(upper, list_make3(makeInteger(it->kind),
										  makeInteger(it->col),
										  makeInteger((int) it->type)));
	}
	foreach(lc, ui->pp->quals)
	{
		FuQual	   *q = (FuQual *) lfirst(lc);

		qual_list = lappend(qual_list,
							list_make5(makeInteger(q->col), makeInteger(q->op),
									   makeInteger((int) q->valtype),
									   makeInteger(q->pushdown),
									   makeBoolean(false)));
		fdw_exprs = lappend(fdw_exprs, q->valexpr);
	}
	i = -1;
	while ((i = bms_next_member(ui->pp->needed, i)) >= 0)
		needed = lappend(needed, makeInteger(i));

	return make_foreignscan(tlist, ui->having, 0, fdw_exprs,
							list_make5(makeString(pstrdup(ui->fpinfo->source->name)),
									   qual_list, needed, ui->pp->source_plan,
									   upper),
							scan_tlist, NIL, outer_plan);
}

/* "GROUP BY service, month(period_start); sum(cost), count(*)" */
const char *
fu_upper_text(List *upper, const FuSource *src)
{
	StringInfoData groups;
	StringInfoData aggs;
	ListCell   *lc;

	initStringInfo(&groups);
	initStringInfo(&aggs);
	foreach(lc, upper)
	{
		FuUpperItem *it = (FuUpperItem *) lfirst(lc);
		StringInfo	buf = FU_UPPER_IS_GROUP(it) ? &groups : &aggs;
		const char *col = it->col >= 0 ? src->columns[it->col].name : "*";

		if (buf->len > 0)
			appendStringInfoString(buf, ", ");
		if (it->kind == FU_UPPER_GROUP)
			appendStringInfoString(buf, col);
		else if (it->kind == FU_UPPER_GROUP_MONTH)
			appendStringInfo(buf, "date_trunc('month', %s)", col);
		else if (it->kind == FU_UPPER_GROUP_UTC_DAY)
			appendStringInfo(buf, "(%s AT TIME ZONE 'UTC')::date", col);
		else
			appendStringInfo(buf, "%s(%s)", fu_upper_name(it->kind), col);
	}
	if (groups.len == 0)
		return aggs.data;
	return psprintf("GROUP BY %s; %s", groups.data,
					aggs.len > 0 ? aggs.data : "no aggregate");
}
