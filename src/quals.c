/*-------------------------------------------------------------------------
 *
 * quals.c
 *		  Recognise WHERE and join clauses a source may turn into API
 *		  parameters, and compute their values when the scan starts.
 *
 * Only "column op value" is recognised, where the column belongs to the
 * foreign table, the operator is a built-in comparison, and the value is
 * an expression without this table's columns and without volatile
 * functions: a Const, a Param, something like now() or current_date, or,
 * for a parameterized path, another relation's column (the executor hands
 * it in as a parameter).  "column = ANY (array)" and "column <> ALL
 * (array)" become IN and NOT IN.  Whatever is not recognised stays a local
 * qual; what is recognised is offered to the source, which decides
 * (FuPushdown).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/transam.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "engine.h"
#include "executor/executor.h"
#include "nodes/makefuncs.h"
#include "mb/pg_wchar.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/clauses.h"
#include "optimizer/optimizer.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

/* By FuOp */
static const char *const op_names[] = {"=", "<>", "<", "<=", ">", ">=", "IN", "NOT IN", "LIKE"};

const char *
fu_op_name(FuOp op)
{
	return op_names[op];
}

/* A comparison operator (=, <>, <, <=, >, >=) by its name */
static bool
op_from_name(const char *name, FuOp *op)
{
	for (FuOp i = FU_OP_EQ; i <= FU_OP_GE; i++)
		if (strcmp(name, op_names[i]) == 0)
		{
			*op = i;
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

/*
 * A value computable once per scan: nothing volatile, no subplan, and no
 * column but those of the relations in outer (the outer side of a
 * parameterized path: they become parameters).
 */
static bool
is_scan_constant(Expr *e, RelOptInfo *baserel, Relids outer)
{
	Relids		relids;

	if (contain_volatile_functions((Node *) e) ||
		contain_subplans((Node *) e))
		return false;
	if (!contain_var_clause((Node *) e))
		return true;
	relids = pull_varnos(NULL, (Node *) e);
	return !bms_is_member(baserel->relid, relids) &&
		bms_is_subset(relids, outer);
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

static FuQual *make_qual(int col, FuOp op, Oid valtype, Expr *val,
						  RestrictInfo *rinfo);

/*
 * "col LIKE 'abc%...'" with a constant pattern as the qual "col starts with
 * abc" (the value is the literal prefix, escapes undone, up to the first
 * wildcard); the LIKE itself stays a local filter.  NULL for any other LIKE.
 */
static FuQual *
prefix_qual(OpExpr *oe, RelOptInfo *baserel, const int *attr_to_col)
{
	char	   *name = get_opname(oe->opno);
	Expr	   *r;
	char	   *pat;
	StringInfoData prefix;
	int			col;

	if (oe->opno >= FirstNormalObjectId || name == NULL ||
		strcmp(name, "~~") != 0 || list_length(oe->args) != 2 ||
		(OidIsValid(oe->inputcollid) &&
		 !get_collation_isdeterministic(oe->inputcollid)))
		return NULL;
	r = lsecond(oe->args);
	while (IsA(r, RelabelType))
		r = ((RelabelType *) r)->arg;
	if ((col = column_of(linitial(oe->args), baserel, attr_to_col)) < 0 ||
		!IsA(r, Const) || ((Const *) r)->constisnull ||
		((Const *) r)->consttype != TEXTOID)
		return NULL;
	pat = TextDatumGetCString(((Const *) r)->constvalue);
	initStringInfo(&prefix);
	for (; *pat && *pat != '%' && *pat != '_'; pat++)
	{
		/* the default escape character: the next one is literal */
		if (*pat == '\\' && pat[1])
			pat++;
		appendStringInfoChar(&prefix, *pat);
	}
	/* no wildcard is an equality; no prefix narrows nothing */
	if (*pat == '\0' || prefix.len == 0)
		return NULL;
	return make_qual(col, FU_OP_PREFIX, TEXTOID,
					 (Expr *) makeConst(TEXTOID, -1, DEFAULT_COLLATION_OID, -1,
										CStringGetTextDatum(prefix.data), false, false),
					 NULL);
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

/*
 * The qual a clause of baserel is, or NULL; the values may use the columns
 * of the relations in outer.  The source has not decided yet.
 */
FuQual *
fu_recognise_qual(RestrictInfo *rinfo, RelOptInfo *baserel,
				  const int *attr_to_col, Relids outer)
{
	Expr	   *clause = rinfo->clause;

	if (rinfo->pseudoconstant)
		return NULL;
	if (IsA(clause, OpExpr))
	{
		OpExpr	   *oe = (OpExpr *) clause;
		Expr	   *l,
				   *r;
		int			col;
		FuOp		op;

		if (list_length(oe->args) != 2 ||
			!trusted_operator(oe->opno, oe->inputcollid, &op))
		{
			FuQual	   *q = prefix_qual(oe, baserel, attr_to_col);

			if (q)
				q->rinfo = rinfo;
			return q;
		}
		l = linitial(oe->args);
		r = lsecond(oe->args);
		if ((col = column_of(l, baserel, attr_to_col)) >= 0 &&
			is_scan_constant(r, baserel, outer))
			return make_qual(col, op, exprType((Node *) r), r, rinfo);
		if ((col = column_of(r, baserel, attr_to_col)) >= 0 &&
			is_scan_constant(l, baserel, outer))
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
			!is_scan_constant(r, baserel, outer))
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

/* Let the source decide about a recognised qual */
void
fu_decide_pushdown(const FuSource *src, FuQual *q)
{
	q->pushdown = FU_PUSH_NONE;
	if (src->columns[q->col].pushable_ops & FU_OPMASK(q->op))
		q->pushdown = src->classify_qual(src, q);
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
 * (the requests' context, or a short-lived one to compare them).  Under
 * EXPLAIN without ANALYZE (allow_params false) values that depend on
 * parameters stay unknown, or show as "?".
 */
void
fu_bind_quals(const FuSource *src, List *quals, List *exprstates,
			  ExprContext *econtext, bool allow_params)
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
		q->placeholder = false;
		q->excluded = false;
		if (!allow_params &&
			unavailable_param_walker((Node *) es->expr, econtext))
		{
			/*
			 * EXPLAIN shows an open text value as "?", so that the request
			 * has the shape it will have (a join's key in its filter).
			 */
			if (q->op == FU_OP_EQ && q->valtype == TEXTOID &&
				src->columns[q->col].values == NULL)
			{
				q->known = true;
				q->placeholder = true;
				q->isnull = false;
				q->value = CStringGetTextDatum("?");
			}
			continue;
		}
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

static bool
same_value(Oid type, bool isnull_a, Datum a, bool isnull_b, Datum b)
{
	int16		typlen;
	bool		typbyval;

	if (isnull_a || isnull_b)
		return isnull_a == isnull_b;
	get_typlenbyval(type, &typlen, &typbyval);
	return datumIsEqual(a, b, typbyval, typlen);
}

/*
 * Would binding the quals again give the values they have?  A nested loop
 * marks its parameters changed for every outer row, even when the values
 * repeat; then nothing needs fetching again.
 */
bool
fu_quals_unchanged(const FuSource *src, List *quals, List *exprstates,
				   ExprContext *econtext)
{
	List	   *fresh = NIL;
	ListCell   *la,
			   *lb;

	foreach(la, quals)
	{
		FuQual	   *copy = palloc(sizeof(FuQual));

		*copy = *(FuQual *) lfirst(la);
		fresh = lappend(fresh, copy);
	}
	fu_bind_quals(src, fresh, exprstates, econtext, true);
	forboth(la, quals, lb, fresh)
	{
		FuQual	   *a = (FuQual *) lfirst(la);
		FuQual	   *b = (FuQual *) lfirst(lb);

		if (!a->known || a->placeholder || a->isnull != b->isnull ||
			a->nelems != b->nelems)
			return false;
		if (a->op != FU_OP_IN && a->op != FU_OP_NOT_IN)
		{
			if (!same_value(a->valtype, a->isnull, a->value, b->isnull, b->value))
				return false;
			continue;
		}
		for (int i = 0; i < a->nelems; i++)
			if (!same_value(a->valtype, a->elemnulls[i], a->elems[i],
							b->elemnulls[i], b->elems[i]))
				return false;
	}
	return true;
}

/* The text value of a qual as a C string in UTF-8, as requests carry it */
char *
fu_qual_text(Datum d)
{
	char	   *s = TextDatumGetCString(d);

	return pg_server_to_any(s, strlen(s), PG_UTF8);
}

/* Is s in the list of strings? */
bool
fu_string_member(List *l, const char *s)
{
	ListCell   *lc;

	foreach(lc, l)
		if (strcmp((char *) lfirst(lc), s) == 0)
			return true;
	return false;
}

/* The text values of a bound = or IN qual, NULLs and repeats left out */
List *
fu_qual_strings(FuQual *q)
{
	List	   *l = NIL;

	if (q->op == FU_OP_EQ || q->op == FU_OP_NE || q->op == FU_OP_PREFIX)
		return list_make1(fu_qual_text(q->value));
	for (int i = 0; i < q->nelems; i++)
		if (!q->elemnulls[i])
		{
			char	   *s = fu_qual_text(q->elems[i]);

			if (!fu_string_member(l, s))
				l = lappend(l, s);
		}
	return l;
}

/*
 * Intersect the values several quals on one column allow: the first sets
 * *constrained and gives its values, later ones narrow them.
 */
List *
fu_intersect_strings(List *have, bool *constrained, List *more)
{
	List	   *out = NIL;
	ListCell   *lc;

	if (!*constrained)
	{
		*constrained = true;
		return more;
	}
	foreach(lc, have)
		if (fu_string_member(more, (char *) lfirst(lc)))
			out = lappend(out, lfirst(lc));
	return out;
}

/* The values of a bound qual in their text form (UTF-8 for text) */
static List *
qual_texts(FuQual *q)
{
	List	   *l = NIL;
	Oid			out;
	bool		varlena;

	if (q->valtype == TEXTOID)
		return fu_qual_strings(q);
	getTypeOutputInfo(q->valtype, &out, &varlena);
	if (q->op == FU_OP_EQ || q->op == FU_OP_NE)
		return list_make1(OidOutputFunctionCall(out, q->value));
	for (int i = 0; i < q->nelems; i++)
		if (!q->elemnulls[i])
			l = lappend(l, OidOutputFunctionCall(out, q->elems[i]));
	return l;
}

/* Is a value in a column's closed set (or of a form it accepts)? */
static bool
valid_value(const FuColumn *c, const char *v)
{
	for (const char *const *p = c->values; p && *p; p++)
		if (strcmp(*p, v) == 0)
			return true;
	return c->valid_value != NULL && c->valid_value(v);
}

/*
 * A pushed qual comparing a column of a closed set of values with a value
 * outside it is an ERROR, before anything is sent: never an empty result,
 * never a request the API would refuse.  A value another relation gives (a
 * join) matches nothing instead, as it would in a hash join.
 */
void
fu_check_closed_values(FuScan *scan)
{
	ListCell   *lc;

	foreach(lc, scan->quals)
	{
		FuQual	   *q = (FuQual *) lfirst(lc);
		const FuColumn *c = &scan->source->columns[q->col];
		ListCell   *lv;

		if ((c->values == NULL && c->valid_value == NULL) || !q->known ||
			q->isnull || q->placeholder || q->op == FU_OP_PREFIX)
			continue;
		foreach(lv, qual_texts(q))
		{
			const char *v = (const char *) lfirst(lv);
			List	   *values = NIL;
			char	   *list;
			const char *closest;

			if (valid_value(c, v))
				continue;
			if (q->join)
			{
				q->excluded = true;
				break;
			}
			for (const char *const *p = c->values; p && *p; p++)
				values = lappend(values, (char *) *p);
			list = fu_word_list(values, "and");
			closest = fu_closest_match(v, values);
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
					 errmsg("invalid value \"%s\" for column \"%s\" of foreign table \"%s\"",
							fu_api_text(v), c->name, RelationGetRelationName(scan->rel)),
					 c->values == NULL ?
					 errdetail("Valid values are %s.",
							   c->value_forms ? c->value_forms : "described in the README") :
					 c->value_forms ?
					 errdetail("Valid values are %s, or %s.", list,
							   c->value_forms) :
					 errdetail("Valid values are %s.", list),
					 closest ? errhint("Perhaps you meant \"%s\".", closest) : 0));
		}
	}
}

/* Does the bound qual let no row through (NULL comparisons, empty IN)? */
bool
fu_qual_matches_nothing(FuQual *q)
{
	if (q->isnull || q->excluded)
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

