/*-------------------------------------------------------------------------
 *
 * quals.c
 *		  Recognise WHERE clauses a provider may turn into API parameters.
 *
 * Only "column op value" is recognised, where the column belongs to the
 * foreign table, the operator is a built-in comparison, and the value is
 * an expression without Vars or volatile functions: a Const, a Param, or
 * something like now() or current_date that is computed when the scan
 * starts.  "column = ANY (array)" and "column <> ALL (array)" become IN and
 * NOT IN.  Whatever is not recognised stays a local qual; what is
 * recognised is offered to the provider, which decides (FuPushdown).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/transam.h"
#include "executor/executor.h"
#include "finops_usage.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/clauses.h"
#include "optimizer/optimizer.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/json.h"
#include "utils/lsyscache.h"

const char *
fu_op_name(FuOp op)
{
	static const char *const names[] = {"=", "<>", "<", "<=", ">", ">=",
	"IN", "NOT IN"};

	return names[op];
}

static bool
op_from_name(const char *name, FuOp *op)
{
	static const char *const names[] = {"=", "<>", "<", "<=", ">", ">="};

	for (int i = 0; i < lengthof(names); i++)
		if (strcmp(name, names[i]) == 0)
		{
			*op = (FuOp) i;
			return true;
		}
	return false;
}

static FuOp
commute(FuOp op)
{
	switch (op)
	{
		case FU_OP_LT:
			return FU_OP_GT;
		case FU_OP_LE:
			return FU_OP_GE;
		case FU_OP_GT:
			return FU_OP_LT;
		case FU_OP_GE:
			return FU_OP_LE;
		default:
			return op;
	}
}

/* The column of this relation an expression is, or -1 */
static int
column_of(Expr *e, RelOptInfo *baserel, const int *attr_to_col)
{
	while (IsA(e, RelabelType))
		e = ((RelabelType *) e)->arg;
	if (IsA(e, Var))
	{
		Var		   *v = (Var *) e;

		if (v->varno == baserel->relid && v->varlevelsup == 0 &&
			v->varattno > 0)
			return attr_to_col[v->varattno];
	}
	return -1;
}

/* A value computable once per scan: no Vars, nothing volatile */
static bool
is_scan_constant(Expr *e)
{
	return !contain_var_clause((Node *) e) &&
		!contain_volatile_functions((Node *) e) &&
		!contain_subplans((Node *) e);
}

/*
 * Only built-in operators are trusted to mean what their name says, and
 * text comparisons must use a deterministic collation to be exact.
 */
static bool
trusted_operator(Oid opno, Oid inputcollid, FuOp *op)
{
	char	   *name;

	if (opno >= FirstNormalObjectId)
		return false;
	if (OidIsValid(inputcollid) && !get_collation_isdeterministic(inputcollid))
		return false;
	name = get_opname(opno);
	return name != NULL && op_from_name(name, op);
}

static FuQual *
make_qual(int col, FuOp op, Oid valtype, Expr *val, RestrictInfo *rinfo)
{
	FuQual	   *q = palloc0(sizeof(FuQual));

	q->col = col;
	q->op = op;
	q->valtype = valtype;
	q->valexpr = val;
	q->rinfo = rinfo;
	q->pushdown = FU_PUSH_NONE;
	return q;
}

static FuQual *
recognise(Expr *clause, RestrictInfo *rinfo, RelOptInfo *baserel,
		  const int *attr_to_col)
{
	if (IsA(clause, OpExpr))
	{
		OpExpr	   *oe = (OpExpr *) clause;
		Expr	   *l,
				   *r;
		int			col;
		FuOp		op;

		if (list_length(oe->args) != 2 ||
			!trusted_operator(oe->opno, oe->inputcollid, &op))
			return NULL;
		l = linitial(oe->args);
		r = lsecond(oe->args);
		if ((col = column_of(l, baserel, attr_to_col)) >= 0 &&
			is_scan_constant(r))
			return make_qual(col, op, exprType((Node *) r), r, rinfo);
		if ((col = column_of(r, baserel, attr_to_col)) >= 0 &&
			is_scan_constant(l))
			return make_qual(col, commute(op), exprType((Node *) l), l, rinfo);
	}
	else if (IsA(clause, ScalarArrayOpExpr))
	{
		ScalarArrayOpExpr *sa = (ScalarArrayOpExpr *) clause;
		Expr	   *l = linitial(sa->args);
		Expr	   *r = lsecond(sa->args);
		int			col;
		FuOp		op;
		Oid			elemtype;

		if (!trusted_operator(sa->opno, sa->inputcollid, &op))
			return NULL;
		if ((col = column_of(l, baserel, attr_to_col)) < 0 ||
			!is_scan_constant(r))
			return NULL;
		elemtype = get_element_type(exprType((Node *) r));
		if (!OidIsValid(elemtype))
			return NULL;
		if (op == FU_OP_EQ && sa->useOr)
			return make_qual(col, FU_OP_IN, elemtype, r, rinfo);
		if (op == FU_OP_NE && !sa->useOr)
			return make_qual(col, FU_OP_NOT_IN, elemtype, r, rinfo);
	}
	return NULL;
}

/*
 * Recognised quals of baserel, with the provider's decision made; the
 * RestrictInfos not pushed go to *other_conds, and those of them that have
 * the "column op value" form (an operator the provider does not take, say)
 * also to *unpushed, as FuQuals.
 */
List *
fu_extract_quals(PlannerInfo *root, RelOptInfo *baserel, const FuSource *src,
				 const int *attr_to_col, List **other_conds, List **unpushed)
{
	List	   *quals = NIL;
	ListCell   *lc;

	*other_conds = NIL;
	*unpushed = NIL;
	foreach(lc, baserel->baserestrictinfo)
	{
		RestrictInfo *rinfo = lfirst_node(RestrictInfo, lc);
		FuQual	   *q = NULL;

		if (!rinfo->pseudoconstant)
			q = recognise(rinfo->clause, rinfo, baserel, attr_to_col);
		if (q && (src->columns[q->col].pushable_ops & FU_OPMASK(q->op)))
			q->pushdown = src->classify_qual(src, q);
		if (q && q->pushdown != FU_PUSH_NONE)
			quals = lappend(quals, q);
		else
		{
			*other_conds = lappend(*other_conds, rinfo);
			if (q)
				*unpushed = lappend(*unpushed, q);
		}
	}
	return quals;
}

/* Is there a qual on col in the list? */
bool
fu_has_qual_on(List *quals, int col)
{
	ListCell   *lc;

	foreach(lc, quals)
		if (((FuQual *) lfirst(lc))->col == col)
			return true;
	return false;
}

FuQual *
fu_find_qual(List *quals, int col, FuOp op)
{
	ListCell   *lc;

	foreach(lc, quals)
	{
		FuQual	   *q = (FuQual *) lfirst(lc);

		if (q->col == col && q->op == op)
			return q;
	}
	return NULL;
}

/* Does the expression need a parameter that is not available yet? */
static bool
unavailable_param_walker(Node *node, void *context)
{
	ExprContext *econtext = (ExprContext *) context;

	if (node == NULL)
		return false;
	if (IsA(node, Param))
	{
		Param	   *p = (Param *) node;

		/* EXPLAIN EXECUTE has the values of $n; initplans have not run */
		if (p->paramkind != PARAM_EXTERN ||
			econtext->ecxt_param_list_info == NULL)
			return true;
	}
	return expression_tree_walker(node, unavailable_param_walker, context);
}

/*
 * Compute the values of the quals, copied into the current memory context
 * (the scan's).  Under EXPLAIN without ANALYZE
 * (allow_params false) values that depend on parameters stay unknown.
 */
void
fu_bind_quals(List *quals, List *exprstates, ExprContext *econtext,
			  bool allow_params)
{
	ListCell   *lq,
			   *le;

	forboth(lq, quals, le, exprstates)
	{
		FuQual	   *q = (FuQual *) lfirst(lq);
		ExprState  *es = (ExprState *) lfirst(le);
		Datum		d;
		bool		isnull;

		q->known = false;
		if (!allow_params &&
			unavailable_param_walker((Node *) es->expr, econtext))
			continue;
		d = ExecEvalExpr(es, econtext, &isnull);
		q->known = true;
		q->isnull = isnull;
		q->nelems = 0;
		if (isnull)
			continue;
		if (q->op == FU_OP_IN || q->op == FU_OP_NOT_IN)
		{
			ArrayType  *arr = DatumGetArrayTypePCopy(d);
			int16		typlen;
			bool		typbyval;
			char		typalign;

			get_typlenbyvalalign(q->valtype, &typlen, &typbyval, &typalign);
			deconstruct_array(arr, q->valtype, typlen, typbyval, typalign,
							  &q->elems, &q->elemnulls, &q->nelems);
		}
		else
		{
			int16		typlen;
			bool		typbyval;

			get_typlenbyval(q->valtype, &typlen, &typbyval);
			q->value = datumCopy(d, typbyval, typlen);
		}
	}
}

/* The text value of a qual, as a C string */
char *
fu_qual_text(Datum d)
{
	return TextDatumGetCString(d);
}

/* The text values of an =, <>, IN or NOT IN qual as a JSON array member */
void
fu_append_json_values(StringInfo buf, FuQual *q)
{
	bool		first = true;

	appendStringInfoString(buf, "\"Values\":[");
	if (q->op == FU_OP_EQ || q->op == FU_OP_NE)
		escape_json(buf, fu_qual_text(q->value));
	else
	{
		for (int i = 0; i < q->nelems; i++)
		{
			if (q->elemnulls[i])
				continue;
			if (!first)
				appendStringInfoChar(buf, ',');
			escape_json(buf, fu_qual_text(q->elems[i]));
			first = false;
		}
	}
	appendStringInfoChar(buf, ']');
}

/* Does the bound qual let no row through (NULL comparisons, empty IN)? */
bool
fu_qual_matches_nothing(FuQual *q)
{
	if (q->isnull)
		return true;
	if (q->op == FU_OP_IN)
	{
		for (int i = 0; i < q->nelems; i++)
			if (!q->elemnulls[i])
				return false;
		return true;
	}
	if (q->op == FU_OP_NOT_IN)
	{
		for (int i = 0; i < q->nelems; i++)
			if (q->elemnulls[i])
				return true;
	}
	return false;
}

