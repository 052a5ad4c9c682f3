/*-------------------------------------------------------------------------
 *
 * comment.c
 *		  COMMENTs on the tables IMPORT FOREIGN SCHEMA creates: what each
 *		  table and column means (the provider's FuDoc), which conditions
 *		  on a column push down into the request (the source's own
 *		  decision), and its closed set of values.
 *
 * IMPORT FOREIGN SCHEMA may only return CREATE FOREIGN TABLE statements,
 * so the extension's event trigger on IMPORT FOREIGN SCHEMA calls
 * finops_usage._comment_table() for each table the command created.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "catalog/pg_class.h"
#include "commands/comment.h"
#include "foreign/fdwapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "engine.h"

PG_FUNCTION_INFO_V1(finops_usage_comment_table);

/* The text of an entry of docs for table (NULL: any) and column */
static const char *
find_doc(const FuDoc *docs, const char *table, const char *column)
{
	if (docs == NULL)
		return NULL;
	for (const FuDoc *d = docs; d->text; d++)
	{
		bool		table_ok = table ?
			(d->table && strcmp(d->table, table) == 0) : d->table == NULL;
		bool		column_ok = column ?
			(d->column && strcmp(d->column, column) == 0) : d->column == NULL;

		if (table_ok && column_ok)
			return d->text;
	}
	return NULL;
}

/* The text for a table (column NULL) or one of its columns */
static const char *
doc_text(const FuProvider *p, const char *table, const FuSource *source,
		 const char *column)
{
	/* the provider's for the table, then for its source */
	const char *text = find_doc(p->docs, table, column);

	if (text == NULL)
		text = find_doc(p->docs, source->name, column);
	/* a table's own text is never a generic one */
	if (text == NULL && column != NULL)
	{
		/* the source's own (the FOCUS columns), then the provider's */
		text = find_doc(source->docs, NULL, column);
		if (text == NULL)
			text = find_doc(p->docs, NULL, column);
	}
	return text;
}

/* Operators in the order the comment lists them */
static const FuOp op_order[] = {
	FU_OP_EQ, FU_OP_IN, FU_OP_NE, FU_OP_NOT_IN, FU_OP_LT, FU_OP_LE,
	FU_OP_GT, FU_OP_GE, FU_OP_PREFIX
};

/*
 * Which conditions on the column push down: the source decides, as it
 * does when planning a qual comparing the column with a value of its type
 */
static void
append_pushdown(StringInfo buf, const FuSource *src, int col)
{
	const FuColumn *c = &src->columns[col];
	List	   *exact = NIL;
	List	   *rechecked = NIL;

	for (int i = 0; i < lengthof(op_order); i++)
	{
		FuQual		q;
		FuPushdown	p;
		const char *name;

		if (!(c->pushable_ops & FU_OPMASK(op_order[i])))
			continue;
		memset(&q, 0, sizeof(q));
		q.col = col;
		q.op = op_order[i];
		q.valtype = c->type;
		p = src->classify_qual(src, &q);
		/* a LIKE pushes its literal prefix only */
		name = q.op == FU_OP_PREFIX ? "LIKE 'prefix%'" : fu_op_name(q.op);
		if (p == FU_PUSH_EXACT)
			exact = lappend(exact, (char *) name);
		else if (p == FU_PUSH_RECHECK)
			rechecked = lappend(rechecked, (char *) name);
	}
	if (exact == NIL && rechecked == NIL)
		appendStringInfoString(buf, "Conditions on it are evaluated locally.");
	else
	{
		appendStringInfoString(buf, "Pushed down into the request:");
		if (exact != NIL)
			appendStringInfo(buf, " %s (exact)", fu_word_list(exact, "and"));
		if (exact != NIL && rechecked != NIL)
			appendStringInfoChar(buf, ';');
		if (rechecked != NIL)
			appendStringInfo(buf, " %s (rechecked locally)",
							 fu_word_list(rechecked, "and"));
		appendStringInfoChar(buf, '.');
	}
	if (c->values)
	{
		List	   *values = NIL;

		for (const char *const *v = c->values; *v; v++)
			values = lappend(values, (char *) *v);
		if (c->value_forms)
			values = lappend(values, (char *) c->value_forms);
		appendStringInfo(buf, " Values: %s; any other is an error.",
						 fu_word_list(values, "or"));
	}
}

static char *
column_comment(const FuProvider *p, const char *table, const FuSource *src,
			   int col)
{
	StringInfoData buf;
	const char *text = doc_text(p, table, src, src->columns[col].name);

	initStringInfo(&buf);
	if (text)
		appendStringInfo(&buf, "%s ", text);
	append_pushdown(&buf, src, col);
	return buf.data;
}

static char *
table_comment(const FuProvider *p, const char *table, const FuSource *src)
{
	const char *text = doc_text(p, table, src, NULL);

	return psprintf("%s%sSource: %s, through finops_usage (provider %s).",
					text ? text : "", text ? " " : "", src->api, p->name);
}

/*
 * finops_usage._comment_table(regclass) returns int: comments a foreign
 * table of this wrapper and its columns; the number of comments set (0
 * for any other table).  The caller must own the table.
 */
Datum
finops_usage_comment_table(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	ForeignTable *table;
	ForeignServer *server;
	ForeignDataWrapper *fdw;
	FdwRoutine *routine;
	const FuProvider *p;
	const FuSource *src;
	char	   *relname;
	char	   *srcname;
	Relation	rel;
	TupleDesc	tupdesc;
	int			n = 0;

	if (get_rel_relkind(relid) != RELKIND_FOREIGN_TABLE)
		PG_RETURN_INT32(0);
	table = GetForeignTable(relid);
	server = GetForeignServer(table->serverid);
	fdw = GetForeignDataWrapper(server->fdwid);
	if (!OidIsValid(fdw->fdwhandler))
		PG_RETURN_INT32(0);
	/* this wrapper's whatever it is called: its handler gives our scan */
	routine = GetFdwRoutine(fdw->fdwhandler);
	if (routine->GetForeignRelSize != fuGetForeignRelSize)
		PG_RETURN_INT32(0);
	if (!pg_class_ownercheck(relid, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_FOREIGN_TABLE,
					   get_rel_name(relid));

	p = fu_server_provider(server);
	relname = get_rel_name(relid);
	srcname = fu_get_option(table->options, "source");
	src = fu_find_source(p, srcname ? srcname : relname);
	if (src == NULL)
		PG_RETURN_INT32(0);

	CreateComments(relid, RelationRelationId, 0, table_comment(p, relname, src));
	n++;
	rel = relation_open(relid, AccessShareLock);
	tupdesc = RelationGetDescr(rel);
	for (int i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);

		if (att->attisdropped)
			continue;
		for (int c = 0; c < src->ncolumns; c++)
			if (strcmp(NameStr(att->attname), src->columns[c].name) == 0)
			{
				CreateComments(relid, RelationRelationId, att->attnum,
							   column_comment(p, relname, src, c));
				n++;
				break;
			}
	}
	relation_close(rel, AccessShareLock);
	PG_RETURN_INT32(n);
}
