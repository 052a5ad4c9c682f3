/*-------------------------------------------------------------------------
 *
 * import.c
 *		  IMPORT FOREIGN SCHEMA: the tables of a provider.
 *
 * The "remote schema" is the provider's name (IMPORT FOREIGN SCHEMA aws).
 * Narrow tables declare a subset of their source's columns and name the
 * source in the table option "source".
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "engine.h"
#include "utils/builtins.h"

static bool
wanted(ImportForeignSchemaStmt *stmt, const char *name)
{
	ListCell   *lc;

	if (stmt->list_type == FDW_IMPORT_SCHEMA_ALL)
		return true;
	foreach(lc, stmt->table_list)
	{
		RangeVar   *rv = (RangeVar *) lfirst(lc);

		if (strcmp(rv->relname, name) == 0)
			return stmt->list_type == FDW_IMPORT_SCHEMA_LIMIT_TO;
	}
	return stmt->list_type == FDW_IMPORT_SCHEMA_EXCEPT;
}

/* LIMIT TO and EXCEPT name tables of the provider: a typo is an error */
static void
check_table_list(ImportForeignSchemaStmt *stmt, const FuProvider *p)
{
	List	   *names = NIL;
	ListCell   *lc;

	for (const FuImportTable *t = p->imports; t->name; t++)
		names = lappend(names, (char *) t->name);
	foreach(lc, stmt->table_list)
	{
		RangeVar   *rv = (RangeVar *) lfirst(lc);
		const char *closest;

		if (fu_string_member(names, rv->relname))
			continue;
		closest = fu_closest_match(rv->relname, names);
		ereport(ERROR,
				(errcode(ERRCODE_FDW_TABLE_NOT_FOUND),
				 errmsg("provider \"%s\" has no table \"%s\"", p->name, rv->relname),
				 closest ? errhint("Perhaps you meant \"%s\".", closest) : 0));
	}
}

List *
fuImportForeignSchema(ImportForeignSchemaStmt *stmt, Oid serverOid)
{
	ForeignServer *server = GetForeignServer(serverOid);
	const FuProvider *p = fu_server_provider(server);
	List	   *commands = NIL;
	ListCell   *lc;

	foreach(lc, stmt->options)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
				 errmsg("invalid option \"%s\"", ((DefElem *) lfirst(lc))->defname),
				 errhint("IMPORT FOREIGN SCHEMA of finops_usage takes no options.")));

	/* the "remote schema" is the server's provider */
	if (strcmp(p->name, stmt->remote_schema) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_SCHEMA_NOT_FOUND),
				 errmsg("schema \"%s\" is not available on server \"%s\"",
						stmt->remote_schema, server->servername),
				 errhint("Server \"%s\" has provider \"%s\": use IMPORT FOREIGN SCHEMA %s.",
						 server->servername, p->name, p->name)));
	if (p->imports == NULL || p->imports[0].name == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_SCHEMA_NOT_FOUND),
				 errmsg("provider \"%s\" has no tables to import", p->name)));
	check_table_list(stmt, p);

	for (const FuImportTable *t = p->imports; t->name; t++)
	{
		const FuSource *src = fu_find_source(p, t->source);
		StringInfoData buf;
		bool		first = true;

		if (!wanted(stmt, t->name))
			continue;
		initStringInfo(&buf);
		appendStringInfo(&buf, "CREATE FOREIGN TABLE %s (\n",
						 quote_identifier(t->name));
		for (int c = 0; c < src->ncolumns; c++)
		{
			const char *col = src->columns[c].name;

			if (t->columns)
			{
				bool		listed = false;

				for (const char *const *n = t->columns; *n; n++)
					if (strcmp(*n, col) == 0)
						listed = true;
				if (!listed)
					continue;
			}
			appendStringInfo(&buf, "%s  %s %s", first ? "" : ",\n",
							 quote_identifier(col),
							 format_type_be(src->columns[c].type));
			first = false;
		}
		appendStringInfo(&buf, "\n) SERVER %s OPTIONS (source %s)",
						 quote_identifier(server->servername),
						 quote_literal_cstr(src->name));
		commands = lappend(commands, buf.data);
	}
	return commands;
}
