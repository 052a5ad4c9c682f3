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

#include "finops_usage.h"
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

List *
fu_import_schema(ImportForeignSchemaStmt *stmt, Oid serverOid)
{
	ForeignServer *server = GetForeignServer(serverOid);
	const char *provider = fu_server_provider(server);
	const FuProvider *p = fu_find_provider(stmt->remote_schema);
	List	   *commands = NIL;
	ListCell   *lc;

	foreach(lc, stmt->options)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
				 errmsg("invalid option \"%s\"", ((DefElem *) lfirst(lc))->defname),
				 errhint("IMPORT FOREIGN SCHEMA of finops_usage takes no options.")));

	if (p == NULL || strcmp(p->name, provider) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_SCHEMA_NOT_FOUND),
				 errmsg("schema \"%s\" is not available on server \"%s\"",
						stmt->remote_schema, server->servername),
				 errhint("Server \"%s\" has provider \"%s\": use IMPORT FOREIGN SCHEMA %s.",
						 server->servername, provider, provider)));

	for (const FuImportTable *t = p->imports; t->name; t++)
	{
		const FuSource *src = fu_find_source(t->source);
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
