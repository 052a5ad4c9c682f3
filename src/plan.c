/*-------------------------------------------------------------------------
 *
 * plan.c
 *		  Planning a foreign scan: resolve the table to its source, let the
 *		  source decide which quals it pushes down and plan its requests,
 *		  and offer paths: the plain scan, and parameterized scans for
 *		  joins (an equality between a pushable column and another
 *		  relation's column), as postgres_fdw does.
 *
 * Each path is planned by the source on its own quals (a join value fixes
 * a dimension, say), and may be refused by it; a refused path costs
 * disable_cost, so that the planner takes another when there is one, and
 * raises the source's error when it is chosen all the same.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "engine.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/paths.h"
#include "optimizer/planmain.h"
#include "optimizer/restrictinfo.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

/*
 * Resolve a foreign table to its source and map its columns, by name, to
 * the source's columns.
 */
const FuSource *
fu_resolve_table(Relation rel, ForeignServer *server, ForeignTable *table,
				 int **attr_to_col_out)
{
	TupleDesc	tupdesc = RelationGetDescr(rel);
	const FuProvider *provider = fu_server_provider(server);
	char	   *srcname = fu_get_option(table->options, "source");
	const FuSource *src;
	int		   *attr_to_col;

	if (srcname == NULL)
		srcname = RelationGetRelationName(rel);
	src = fu_find_source(provider, srcname);
	if (src == NULL)
	{
		const char *closest = fu_closest_source(provider, srcname);

		ereport(ERROR,
				(errcode(ERRCODE_FDW_TABLE_NOT_FOUND),
				 errmsg("foreign table \"%s\" does not name a source of provider \"%s\"",
						RelationGetRelationName(rel), provider->name),
				 closest ?
				 errhint("Set the table option \"source\", for example OPTIONS (source '%s').", closest) :
				 errhint("Set the table option \"source\", or use IMPORT FOREIGN SCHEMA %s.",
						 provider->name)));
	}

	attr_to_col = palloc(sizeof(int) * (tupdesc->natts + 1));
	attr_to_col[0] = -1;
	for (int i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);
		int			col = -1;

		attr_to_col[i + 1] = -1;
		if (att->attisdropped)
			continue;
		for (int c = 0; c < src->ncolumns; c++)
			if (strcmp(NameStr(att->attname), src->columns[c].name) == 0)
				col = c;
		if (col < 0)
		{
			List	   *names = NIL;

			for (int c = 0; c < src->ncolumns; c++)
				names = lappend(names, (char *) src->columns[c].name);
			ereport(ERROR,
					(errcode(ERRCODE_FDW_COLUMN_NAME_NOT_FOUND),
					 errmsg("column \"%s\" of foreign table \"%s\" is not a column of source \"%s\"",
							NameStr(att->attname), RelationGetRelationName(rel),
							src->name),
					 fu_closest_match(NameStr(att->attname), names) ?
					 errhint("Perhaps you meant the column \"%s\".",
							 fu_closest_match(NameStr(att->attname), names)) : 0));
		}
		if (att->atttypid != src->columns[col].type)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
					 errmsg("column \"%s\" of foreign table \"%s\" has type %s, but source \"%s\" provides %s",
							NameStr(att->attname), RelationGetRelationName(rel),
							format_type_be(att->atttypid), src->name,
							format_type_be(src->columns[col].type))));
		attr_to_col[i + 1] = col;
	}
	*attr_to_col_out = attr_to_col;
	return src;
}

/* Source columns referenced by expressions of the relation */
Bitmapset *
fu_columns_used(List *exprs, Index relid, FuRelInfo *fpinfo)
{
	Bitmapset  *attrs = NULL;
	Bitmapset  *cols = NULL;
	int			i = -1;

	pull_varattnos((Node *) exprs, relid, &attrs);
	while ((i = bms_next_member(attrs, i)) >= 0)
	{
		AttrNumber	attno = i + FirstLowInvalidHeapAttributeNumber;

		if (attno == 0)
			cols = bms_union(cols, fpinfo->declared);	/* whole row */
		else if (attno > 0 && fpinfo->attr_to_col[attno] >= 0)
			cols = bms_add_member(cols, fpinfo->attr_to_col[attno]);
	}
	return cols;
}

void
fu_plan_refuse(FuPlanInfo *pi, int sqlerrcode, const char *message,
			   const char *detail, const char *hint)
{
	if (pi->refusal_message)
		return;					/* the first reason is enough */
	pi->refusal_code = sqlerrcode;
	pi->refusal_message = pstrdup(message);
	pi->refusal_detail = detail ? pstrdup(detail) : NULL;
	pi->refusal_hint = hint ? pstrdup(hint) : NULL;
}

/*
 * The pushed qual a clause of baserel is, or NULL.  Its value may use the
 * columns of the relations in outer; a join clause is pushed only as an
 * equality (a key to pass in).
 */
static FuQual *
pushed_qual(RestrictInfo *rinfo, RelOptInfo *baserel, FuRelInfo *fpinfo,
			Relids outer, bool join)
{
	FuQual	   *q = fu_recognise_qual(rinfo, baserel, fpinfo->attr_to_col,
									  outer);

	if (q == NULL || (join && q->op != FU_OP_EQ))
		return NULL;
	fu_decide_pushdown(fpinfo->source, q);
	return q->pushdown == FU_PUSH_NONE ? NULL : q;
}

/*
 * A column whose rows exist per value asked for cannot be filtered locally
 * with a condition the source does not push: it would keep the default
 * rows or none.  (A pushed condition on it as well makes the others plain
 * filters of those rows.)  Only this path is refused: a parameterized one
 * may push the column's join value.
 */
static void
check_per_value_columns(FuPlanInfo *pi, List *unpushed)
{
	ListCell   *lc;

	foreach(lc, unpushed)
	{
		FuQual	   *q = (FuQual *) lfirst(lc);
		const FuColumn *c = &pi->source->columns[q->col];
		List	   *ops = NIL;

		if (!(c->flags & FU_COL_PER_VALUE) || fu_has_qual_on(pi->quals, q->col))
			continue;
		for (FuOp op = FU_OP_EQ; op <= FU_OP_NOT_IN; op++)
			if (c->pushable_ops & FU_OPMASK(op))
				ops = lappend(ops, (char *) fu_op_name(op));
		fu_plan_refuse(pi, ERRCODE_FEATURE_NOT_SUPPORTED,
					   psprintf("\"%s\" can compare %s only with %s, to a value of type %s",
								get_rel_name(pi->table->relid), c->name,
								fu_word_list(ops, "or"), format_type_be(c->type)),
					   psprintf("Its rows exist only for the values of %s a query asks for: another condition could only keep the rows of the default or none.",
								c->name),
					   NULL);
		return;
	}
}

/*
 * Plan a path whose quals are the base quals plus join_quals (recognised
 * join clauses of a parameterized path, pushdown decided) and whose other
 * join clauses other_joins are evaluated locally.
 */
FuPathPlan *
fu_plan_path(PlannerInfo *root, RelOptInfo *baserel, FuRelInfo *fpinfo,
		  List *join_quals, List *other_joins)
{
	FuPathPlan *pp = palloc0(sizeof(FuPathPlan));
	List	   *local_exprs = NIL;
	List	   *unpushed = NIL;
	ListCell   *lc;
	FuPlanInfo *pi = palloc0(sizeof(FuPlanInfo));

	pp->quals = list_concat_copy(fpinfo->base_quals, join_quals);

	/* the query must see what it outputs and what is evaluated locally */
	foreach(lc, list_concat_copy(fpinfo->base_other, other_joins))
	{
		RestrictInfo *rinfo = lfirst_node(RestrictInfo, lc);
		FuQual	   *q = fu_recognise_qual(rinfo, baserel, fpinfo->attr_to_col,
										  baserel->lateral_relids);

		local_exprs = lappend(local_exprs, rinfo->clause);
		if (q)
			unpushed = lappend(unpushed, q);
	}
	foreach(lc, pp->quals)
	{
		FuQual	   *q = (FuQual *) lfirst(lc);

		if (q->pushdown != FU_PUSH_EXACT)
			local_exprs = lappend(local_exprs, q->rinfo->clause);
	}
	pp->needed = bms_union(fu_columns_used(baserel->reltarget->exprs,
										baserel->relid, fpinfo),
						   fu_columns_used(local_exprs, baserel->relid, fpinfo));
	pi->source = fpinfo->source;
	pi->root = root;
	pi->baserel = baserel;
	pi->table = fpinfo->table;
	pi->server = fpinfo->server;
	pi->quals = pp->quals;
	pi->needed = pp->needed;
	pi->declared = fpinfo->declared;
	pi->rows = 1000;
	pi->calls = 1;
	check_per_value_columns(pi, unpushed);
	pp->source_plan = fpinfo->source->plan(pi);
	pp->calls = pi->calls;
	pp->fetched = pi->rows;
	if (pi->refusal_message)
		pp->refusal = pi;

	/* local quals filter some more */
	pp->rows = clamp_row_est(pi->rows *
							 clauselist_selectivity(root, local_exprs,
													baserel->relid,
													JOIN_INNER, NULL));
	return pp;
}

void
fuGetForeignRelSize(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid)
{
	FuRelInfo  *fpinfo = palloc0(sizeof(FuRelInfo));
	Relation	rel = table_open(foreigntableid, NoLock);
	FuPathPlan *base;
	ListCell   *lc;

	fpinfo->table = GetForeignTable(foreigntableid);
	fpinfo->server = GetForeignServer(fpinfo->table->serverid);
	fpinfo->source = fu_resolve_table(rel, fpinfo->server, fpinfo->table,
									  &fpinfo->attr_to_col);
	fpinfo->natts = RelationGetDescr(rel)->natts;
	table_close(rel, NoLock);
	for (int a = 1; a <= fpinfo->natts; a++)
		if (fpinfo->attr_to_col[a] >= 0)
			fpinfo->declared = bms_add_member(fpinfo->declared,
											  fpinfo->attr_to_col[a]);
	baserel->fdw_private = fpinfo;

	/* a lateral reference's columns are values like any parameter */
	foreach(lc, baserel->baserestrictinfo)
	{
		RestrictInfo *rinfo = lfirst_node(RestrictInfo, lc);
		FuQual	   *q = pushed_qual(rinfo, baserel, fpinfo,
									baserel->lateral_relids, false);

		if (q)
			fpinfo->base_quals = lappend(fpinfo->base_quals, q);
		else
			fpinfo->base_other = lappend(fpinfo->base_other, rinfo);
	}

	base = fu_plan_path(root, baserel, fpinfo, NIL, NIL);
	fpinfo->paths = list_make1(base);
	baserel->rows = base->rows;
	baserel->tuples = base->rows;
}

/* A pushed join qual, or NULL: "col = other relation's expression" */
static FuQual *
join_qual(RestrictInfo *rinfo, RelOptInfo *baserel, FuRelInfo *fpinfo)
{
	if (!join_clause_is_movable_to(rinfo, baserel))
		return NULL;
	return pushed_qual(rinfo, baserel, fpinfo,
					   bms_del_member(bms_union(rinfo->clause_relids,
												baserel->lateral_relids),
									  baserel->relid),
					   true);
}

/* generate_implied_equalities_for_column: members that are our columns */
typedef struct EcMemberArg
{
	FuRelInfo  *fpinfo;
	Expr	   *current;		/* the member this round is about */
	List	   *already_used;
} EcMemberArg;

static bool
ec_member_matches(PlannerInfo *root, RelOptInfo *rel, EquivalenceClass *ec,
				  EquivalenceMember *em, void *arg)
{
	EcMemberArg *state = (EcMemberArg *) arg;
	Expr	   *expr = em->em_expr;
	Var		   *var;
	int			col;

	if (state->current != NULL)
		return equal(expr, state->current);
	/* what was processed is remembered as the member is, relabeled or not */
	if (list_member(state->already_used, expr))
		return false;
	while (IsA(expr, RelabelType))
		expr = ((RelabelType *) expr)->arg;
	if (!IsA(expr, Var))
		return false;
	var = (Var *) expr;
	if (var->varno != rel->relid || var->varlevelsup != 0 || var->varattno <= 0)
		return false;
	col = state->fpinfo->attr_to_col[var->varattno];
	if (col < 0 ||
		!(state->fpinfo->source->columns[col].pushable_ops & FU_OPS_EQ))
		return false;
	state->current = em->em_expr;
	return true;
}

/* The join clauses of baserel worth a parameterized path */
static List *
join_clauses(PlannerInfo *root, RelOptInfo *baserel, FuRelInfo *fpinfo)
{
	List	   *clauses = NIL;
	ListCell   *lc;

	foreach(lc, baserel->joininfo)
	{
		RestrictInfo *rinfo = lfirst_node(RestrictInfo, lc);

		if (join_qual(rinfo, baserel, fpinfo))
			clauses = lappend(clauses, rinfo);
	}

	/* equalities absorbed into equivalence classes are not in joininfo */
	if (baserel->has_eclass_joins)
	{
		EcMemberArg arg;

		arg.fpinfo = fpinfo;
		arg.already_used = NIL;
		for (;;)
		{
			List	   *implied;

			arg.current = NULL;
			implied = generate_implied_equalities_for_column(root, baserel,
															 ec_member_matches,
															 &arg,
															 baserel->lateral_referencers);
			if (arg.current == NULL)
				break;
			foreach(lc, implied)
			{
				RestrictInfo *rinfo = lfirst_node(RestrictInfo, lc);

				if (join_qual(rinfo, baserel, fpinfo))
					clauses = lappend(clauses, rinfo);
			}
			arg.already_used = lappend(arg.already_used, arg.current);
		}
	}
	return clauses;
}

/* A column of FU_COL_PER_VALUE the pushed quals fix, or -1 */
static int
per_value_column(const FuSource *src, List *quals)
{
	ListCell   *lc;

	foreach(lc, quals)
	{
		FuQual	   *q = (FuQual *) lfirst(lc);

		if (src->columns[q->col].flags & FU_COL_PER_VALUE)
			return q->col;
	}
	return -1;
}

static void
add_path_for(PlannerInfo *root, RelOptInfo *baserel, FuRelInfo *fpinfo,
			 int index, Relids required_outer)
{
	FuPathPlan *pp = (FuPathPlan *) list_nth(fpinfo->paths, index);

	/*
	 * An API call costs far more than a local page read: its latency, and
	 * its price (one unit per 0.00001 USD).
	 */
	Cost		startup = pp->calls *
		(100.0 + 100000.0 * fpinfo->source->call_price);
	Cost		total;

	if (pp->refusal)
		startup += disable_cost;
	/* every row fetched is parsed, whatever the local filters keep */
	total = startup + pp->fetched * cpu_tuple_cost * 10;
	add_path(baserel, (Path *)
			 create_foreignscan_path(root, baserel, NULL, pp->rows,
									 startup, total, NIL, required_outer,
									 NULL, list_make1(makeInteger(index))));
}

void
fuGetForeignPaths(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid)
{
	FuRelInfo  *fpinfo = (FuRelInfo *) baserel->fdw_private;
	FuPathPlan *base = (FuPathPlan *) linitial(fpinfo->paths);
	List	   *ppis = NIL;
	ListCell   *lc;

	/* a parameterized path per set of outer relations */
	foreach(lc, join_clauses(root, baserel, fpinfo))
	{
		RestrictInfo *rinfo = lfirst_node(RestrictInfo, lc);
		Relids		outer = bms_del_member(bms_union(rinfo->clause_relids,
													 baserel->lateral_relids),
										   baserel->relid);

		if (bms_is_empty(outer))
			continue;
		ppis = list_append_unique_ptr(ppis,
									  get_baserel_parampathinfo(root, baserel,
																outer));
	}
	foreach(lc, ppis)
	{
		ParamPathInfo *ppi = (ParamPathInfo *) lfirst(lc);
		List	   *pushed = NIL;
		List	   *other = NIL;
		ListCell   *lj;
		FuPathPlan *pp;
		int			col;

		foreach(lj, ppi->ppi_clauses)
		{
			RestrictInfo *rinfo = lfirst_node(RestrictInfo, lj);
			FuQual	   *q = join_qual(rinfo, baserel, fpinfo);

			if (q)
				pushed = lappend(pushed, q);
			else
				other = lappend(other, rinfo);
		}
		if (pushed == NIL)
			continue;
		pp = fu_plan_path(root, baserel, fpinfo, pushed, other);
		ppi->ppi_rows = pp->rows;
		fpinfo->paths = lappend(fpinfo->paths, pp);
		add_path_for(root, baserel, fpinfo, list_length(fpinfo->paths) - 1,
					 ppi->ppi_req_outer);

		/*
		 * A join on a per-value column (a forecast per service) must pass
		 * its values in: the plain scan reads the total, whose NULL matches
		 * nothing.
		 */
		col = per_value_column(fpinfo->source, pushed);
		if (col >= 0 && !fu_has_qual_on(fpinfo->base_quals, col) &&
			base->refusal == NULL)
		{
			FuPlanInfo *pi = palloc0(sizeof(FuPlanInfo));
			const char *table = get_rel_name(fpinfo->table->relid);
			const char *colname = fpinfo->source->columns[col].name;

			fu_plan_refuse(pi, ERRCODE_FEATURE_NOT_SUPPORTED,
						   psprintf("\"%s\" can join on %s only when the values of %s are known before it is read",
									table, colname, colname),
						   psprintf("Its rows are per value of %s, and a row without a condition on it is the total.",
									colname),
						   psprintf("Read it once per value, with a LATERAL subquery or as the inner side of a join, or list the values: WHERE %s IN (...).",
									colname));
			base->refusal = pi;
		}
	}

	add_path_for(root, baserel, fpinfo, 0, baserel->lateral_relids);
}

ForeignScan *
fuGetForeignPlan(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid,
				 ForeignPath *best_path, List *tlist, List *scan_clauses,
				 Plan *outer_plan)
{
	FuRelInfo  *fpinfo = (FuRelInfo *) baserel->fdw_private;
	FuPathPlan *pp;
	List	   *local_exprs = NIL;
	List	   *quals = NIL;
	List	   *qual_list = NIL;
	List	   *fdw_exprs = NIL;
	List	   *needed = NIL;
	Relids		outer;
	ListCell   *lc;
	int			i;

	if (IS_UPPER_REL(baserel))
		return fu_upper_plan(root, baserel, best_path, tlist, outer_plan);
	pp = (FuPathPlan *) list_nth(fpinfo->paths,
								 intVal(linitial(best_path->fdw_private)));
	if (pp->refusal)
		ereport(ERROR,
				(errcode(pp->refusal->refusal_code),
				 errmsg("%s", pp->refusal->refusal_message),
				 pp->refusal->refusal_detail ?
				 errdetail("%s", pp->refusal->refusal_detail) : 0,
				 pp->refusal->refusal_hint ?
				 errhint("%s", pp->refusal->refusal_hint) : 0));

	/*
	 * The quals again, from the clauses this plan has: for a path that was
	 * reparameterized (a partitionwise join), they are translated.  Quals
	 * the source enforces exactly are not evaluated again.
	 */
	outer = bms_union(best_path->path.param_info ?
					  best_path->path.param_info->ppi_req_outer : NULL,
					  baserel->lateral_relids);
	foreach(lc, scan_clauses)
	{
		RestrictInfo *rinfo = lfirst_node(RestrictInfo, lc);
		bool		join = !list_member_ptr(baserel->baserestrictinfo, rinfo);
		FuQual	   *q;

		if (rinfo->pseudoconstant)
			continue;
		q = pushed_qual(rinfo, baserel, fpinfo,
						join ? outer : baserel->lateral_relids, join);
		if (q)
		{
			q->join = join;
			quals = lappend(quals, q);
		}
		if (q == NULL || q->pushdown != FU_PUSH_EXACT)
			local_exprs = lappend(local_exprs, rinfo->clause);
	}

	/* the values: the executor replaces outer columns with parameters */
	foreach(lc, quals)
	{
		FuQual	   *q = (FuQual *) lfirst(lc);

		qual_list = lappend(qual_list,
							list_make5(makeInteger(q->col), makeInteger(q->op),
									   makeInteger((int) q->valtype),
									   makeInteger(q->pushdown),
									   makeBoolean(q->join)));
		fdw_exprs = lappend(fdw_exprs, q->valexpr);
	}
	i = -1;
	while ((i = bms_next_member(pp->needed, i)) >= 0)
		needed = lappend(needed, makeInteger(i));

	return make_foreignscan(tlist, local_exprs, baserel->relid, fdw_exprs,
							list_make5(makeString(pstrdup(fpinfo->source->name)),
									   qual_list, needed, pp->source_plan, NIL),
							NIL, NIL, outer_plan);
}
