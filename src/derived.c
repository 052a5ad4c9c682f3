/*-------------------------------------------------------------------------
 *
 * derived.c
 *		  Sources computed from another source's rows (the FOCUS tables).
 *
 * A derived source hands its scan to an inner source: a qual on one of
 * its columns becomes a qual on the inner column it maps to, the inner
 * plan declares the fixed grain the derived source names (so its rows
 * never depend on the columns a query reads), and each inner row becomes
 * one row through the provider's derive function.  The inner source
 * builds the requests and parses the pages as for its own tables: it sees
 * the scan as its own, its columns, quals, plan and state swapped in
 * around every call.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/date.h"
#include "utils/fmgrprotos.h"
#include "utils/timestamp.h"

#include "provider.h"

/* fdw_private of the plan */
enum
{
	PlanInner,					/* List: the inner source's plan */
	PlanNeeded					/* List of Integer: inner columns needed */
};

/* Scan state: the inner scan's view, and its row */
typedef struct DerivedState
{
	List	   *quals;			/* FuQual * of the inner columns */
	Bitmapset  *needed;
	List	   *plan_private;
	void	   *pstate;			/* the inner source's */
	Datum	   *fixed_values;	/* the inner source's fu_scan_fix */
	int		   *fixed_cols;
	int			nfixed;
	int		   *input_cols;		/* inner column of each input */
	int			ninputs;
	Datum	   *in_values;		/* the inner row */
	bool	   *in_nulls;
	Datum	   *inputs;			/* what derive reads */
	bool	   *input_nulls;
} DerivedState;

/* The derived source's view of the scan while the inner one runs */
typedef struct OuterView
{
	const FuSource *source;
	List	   *quals;
	Bitmapset  *needed;
	List	   *plan_private;
	Datum	   *fixed_values;
	int		   *fixed_cols;
	int			nfixed;
} OuterView;

static int
inner_column(const FuSource *inner, const char *name)
{
	for (int c = 0; c < inner->ncolumns; c++)
		if (strcmp(inner->columns[c].name, name) == 0)
			return c;
	elog(ERROR, "source \"%s\" has no column \"%s\"", inner->name, name);
	return -1;					/* keep compiler quiet */
}

/*
 * The inner qual of q, or NULL when q narrows nothing inside.  A date or
 * timestamp compared with a timestamptz column is made the timestamptz
 * PostgreSQL compares (in the session's time zone), so that an inner date
 * column widens its window as for any timestamptz.
 */
static FuQual *
inner_qual(const FuSource *src, const FuQual *q)
{
	const FuDerived *d = src->derived;
	const char *name = d->columns[q->col].qual_column;
	FuQual	   *iq;

	if (name == NULL)
		return NULL;
	iq = palloc(sizeof(FuQual));
	*iq = *q;
	iq->col = inner_column(d->inner, name);
	if (src->columns[q->col].type == TIMESTAMPTZOID &&
		d->inner->columns[iq->col].type == DATEOID &&
		(q->valtype == DATEOID || q->valtype == TIMESTAMPOID) &&
		(q->op != FU_OP_IN && q->op != FU_OP_NOT_IN))
	{
		iq->valtype = TIMESTAMPTZOID;
		if (q->known && !q->isnull && !q->placeholder)
			iq->value = q->valtype == DATEOID ?
				DirectFunctionCall1(date_timestamptz, q->value) :
				DirectFunctionCall1(timestamp_timestamptz, q->value);
	}
	return iq;
}

FuPushdown
fu_derived_classify_qual(const FuSource *src, const FuQual *q)
{
	const FuDerived *d = src->derived;
	const FuColumn *c = &src->columns[q->col];
	FuQual	   *iq = inner_qual(src, q);
	FuPushdown	p;

	/* pushed only to be checked against the closed set, then rechecked */
	if (iq == NULL)
		return (c->values || c->valid_value) ? FU_PUSH_RECHECK : FU_PUSH_NONE;
	if (!(d->inner->columns[iq->col].pushable_ops & FU_OPMASK(iq->op)))
		return FU_PUSH_NONE;
	p = d->inner->classify_qual(d->inner, iq);
	/* other types (a date made midnight UTC) are compared here again */
	if (p == FU_PUSH_EXACT && c->type != d->inner->columns[iq->col].type)
		p = FU_PUSH_RECHECK;
	return p;
}

List *
fu_derived_plan(FuPlanInfo *pi)
{
	const FuDerived *d = pi->source->derived;
	FuPlanInfo	inner = *pi;
	List	   *needed = NIL;
	List	   *plan;
	ListCell   *lc;
	int			c = -1;

	inner.source = d->inner;
	inner.quals = NIL;
	foreach(lc, pi->quals)
	{
		FuQual	   *iq = inner_qual(pi->source, (FuQual *) lfirst(lc));

		if (iq)
			inner.quals = lappend(inner.quals, iq);
	}
	/* the grain: what the inner table declares, whatever the query reads */
	inner.declared = NULL;
	for (const char *const *g = d->grain; *g; g++)
		inner.declared = bms_add_member(inner.declared,
										inner_column(d->inner, *g));
	inner.needed = NULL;
	while ((c = bms_next_member(pi->needed, c)) >= 0)
		for (int i = 0; d->inputs[i]; i++)
			if (d->columns[c].reads & (1 << i))
				inner.needed = bms_add_member(inner.needed,
											  inner_column(d->inner, d->inputs[i]));
	inner.upper = NIL;

	plan = d->inner->plan(&inner);
	pi->rows = inner.rows;
	pi->calls = inner.calls;
	if (inner.refusal_message)
		fu_plan_refuse(pi, inner.refusal_code, inner.refusal_message,
					   inner.refusal_detail, inner.refusal_hint);
	c = -1;
	while ((c = bms_next_member(inner.needed, c)) >= 0)
		needed = lappend(needed, makeInteger(c));
	return list_make2(plan, needed);
}

/* Let the inner source see the scan as its own */
static void
enter(FuScan *scan, DerivedState *st, OuterView *ov)
{
	ov->source = scan->source;
	ov->quals = scan->quals;
	ov->needed = scan->needed;
	ov->plan_private = scan->plan_private;
	ov->fixed_values = scan->fixed_values;
	ov->fixed_cols = scan->fixed_cols;
	ov->nfixed = scan->nfixed;

	scan->source = ov->source->derived->inner;
	scan->quals = st->quals;
	scan->needed = st->needed;
	scan->plan_private = st->plan_private;
	scan->pstate = st->pstate;
	scan->fixed_values = st->fixed_values;
	scan->fixed_cols = st->fixed_cols;
	scan->nfixed = st->nfixed;
}

static void
leave(FuScan *scan, DerivedState *st, OuterView *ov)
{
	st->pstate = scan->pstate;
	st->nfixed = scan->nfixed;

	scan->source = ov->source;
	scan->quals = ov->quals;
	scan->needed = ov->needed;
	scan->plan_private = ov->plan_private;
	scan->pstate = st;
	scan->fixed_values = ov->fixed_values;
	scan->fixed_cols = ov->fixed_cols;
	scan->nfixed = ov->nfixed;
}

void
fu_derived_begin(FuScan *scan)
{
	const FuDerived *d = scan->source->derived;
	int			ncols = d->inner->ncolumns;
	DerivedState *st = palloc0(sizeof(DerivedState));
	OuterView	ov;
	ListCell   *lc;

	foreach(lc, scan->quals)
	{
		FuQual	   *iq = inner_qual(scan->source, (FuQual *) lfirst(lc));

		if (iq)
			st->quals = lappend(st->quals, iq);
	}
	st->plan_private = (List *) list_nth(scan->plan_private, PlanInner);
	foreach(lc, (List *) list_nth(scan->plan_private, PlanNeeded))
		st->needed = bms_add_member(st->needed, intVal(lfirst(lc)));
	st->fixed_values = palloc0(sizeof(Datum) * ncols);
	st->fixed_cols = palloc0(sizeof(int) * ncols);
	st->in_values = palloc0(sizeof(Datum) * ncols);
	st->in_nulls = palloc0(sizeof(bool) * ncols);
	while (d->inputs[st->ninputs])
		st->ninputs++;
	st->input_cols = palloc(sizeof(int) * st->ninputs);
	for (int i = 0; i < st->ninputs; i++)
		st->input_cols[i] = inner_column(d->inner, d->inputs[i]);
	st->inputs = palloc0(sizeof(Datum) * st->ninputs);
	st->input_nulls = palloc0(sizeof(bool) * st->ninputs);

	enter(scan, st, &ov);
	ov.source->derived->inner->begin(scan);
	leave(scan, st, &ov);
}

void
fu_derived_parse_page(FuScan *scan, FuRequest *req, char *body, size_t len)
{
	DerivedState *st = (DerivedState *) scan->pstate;
	OuterView	ov;

	enter(scan, st, &ov);
	scan->source->parse_page(scan, req, body, len);
	leave(scan, st, &ov);
}

bool
fu_derived_next_row(FuScan *scan, Datum *values, bool *nulls)
{
	DerivedState *st = (DerivedState *) scan->pstate;
	const FuDerived *d = scan->source->derived;
	OuterView	ov;
	bool		got;

	/* as the engine prepares a row: NULLs, then the fixed values */
	memset(st->in_nulls, true, sizeof(bool) * d->inner->ncolumns);
	for (int i = 0; i < st->nfixed; i++)
	{
		int			c = st->fixed_cols[i];

		st->in_values[c] = st->fixed_values[c];
		st->in_nulls[c] = false;
	}
	enter(scan, st, &ov);
	got = scan->source->next_row(scan, st->in_values, st->in_nulls);
	leave(scan, st, &ov);
	if (!got)
		return false;
	for (int i = 0; i < st->ninputs; i++)
	{
		st->inputs[i] = st->in_values[st->input_cols[i]];
		st->input_nulls[i] = st->in_nulls[st->input_cols[i]];
	}
	d->derive(scan, st->inputs, st->input_nulls, values, nulls);
	return true;
}

void
fu_derived_explain(FuScan *scan, ExplainState *es)
{
	DerivedState *st = (DerivedState *) scan->pstate;
	OuterView	ov;

	/* no scan state: a qual let nothing through, nothing is asked */
	if (st == NULL || scan->source->derived->inner->explain == NULL)
		return;
	enter(scan, st, &ov);
	scan->source->explain(scan, es);
	leave(scan, st, &ov);
}
