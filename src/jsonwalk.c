/*-------------------------------------------------------------------------
 *
 * jsonwalk.c
 *		  Where an event JSON parser is: the field names and container
 *		  kinds of every level, for the page parsers of the providers.
 *
 * Pages of rows are parsed with PostgreSQL's event parser (pg_parse_json):
 * no tree is built, and a page of any shape gives a clean ERROR instead of
 * a crash, since every test of the position goes through fu_walk_is, which
 * checks that the level is an object with that field.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/jsonapi.h"
#include "finops_usage.h"
#include "mb/pg_wchar.h"

void
fu_walk_enter(FuJsonWalk *w, bool array)
{
	if (++w->depth >= FU_WALK_MAX_DEPTH)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
				 errmsg("malformed response from %s", w->api),
				 errdetail("The document is nested more than %d levels deep.",
						   FU_WALK_MAX_DEPTH - 1)));
	w->fields[w->depth] = NULL;
	w->arrays[w->depth] = array;
}

void
fu_walk_leave(FuJsonWalk *w)
{
	w->depth--;
}

void
fu_walk_field(FuJsonWalk *w, char *fname)
{
	w->fields[w->depth] = fname;
}

/* Is level depth an object, now in its field name? */
bool
fu_walk_is(FuJsonWalk *w, int depth, const char *name)
{
	return depth <= w->depth && depth > 0 && !w->arrays[depth] &&
		w->fields[depth] != NULL && strcmp(w->fields[depth], name) == 0;
}

/* The field level depth is in, or NULL for an array */
const char *
fu_walk_field_at(FuJsonWalk *w, int depth)
{
	if (depth > w->depth || depth <= 0 || w->arrays[depth])
		return NULL;
	return w->fields[depth];
}

void
fu_walk_malformed(FuJsonWalk *w, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
			 errmsg("malformed response from %s", w->api),
			 errdetail("%s", detail)));
}

/* ---------- the event parser, walked ---------- */

typedef struct WalkState
{
	FuJsonWalk	walk;
	const FuJsonHandlers *h;
	void	   *state;
} WalkState;

static void
walk_object_start(void *arg)
{
	WalkState  *ws = (WalkState *) arg;

	fu_walk_enter(&ws->walk, false);
	if (ws->h->object_start)
		ws->h->object_start(ws->state, &ws->walk);
}

static void
walk_object_end(void *arg)
{
	WalkState  *ws = (WalkState *) arg;

	if (ws->h->object_end)
		ws->h->object_end(ws->state, &ws->walk);
	fu_walk_leave(&ws->walk);
}

static void
walk_array_start(void *arg)
{
	WalkState  *ws = (WalkState *) arg;

	fu_walk_enter(&ws->walk, true);
	if (ws->h->array_start)
		ws->h->array_start(ws->state, &ws->walk);
}

static void
walk_array_end(void *arg)
{
	fu_walk_leave(&((WalkState *) arg)->walk);
}

static void
walk_field_start(void *arg, char *fname, bool isnull)
{
	fu_walk_field(&((WalkState *) arg)->walk, fname);
}

static void
walk_scalar(void *arg, char *token, JsonTokenType type)
{
	WalkState  *ws = (WalkState *) arg;

	if (ws->h->scalar)
		ws->h->scalar(ws->state, &ws->walk, token, type);
}

/*
 * Parse a response page (UTF-8 JSON) with the handlers.  Strings handed to
 * them are palloc'd in the current memory context, the page's, and are
 * valid UTF-8: the page is checked once, here.
 */
void
fu_parse_json_events(const char *api, const char *body, size_t len,
					 const FuJsonHandlers *h, void *state)
{
	WalkState	ws;
	JsonSemAction sem;
	JsonLexContext *lex;
	JsonParseErrorType rc;

	fu_check_utf8(api, body, len);
	memset(&ws, 0, sizeof(ws));
	ws.walk.api = api;
	ws.h = h;
	ws.state = state;

	memset(&sem, 0, sizeof(sem));
	sem.semstate = &ws;
	sem.object_start = walk_object_start;
	sem.object_end = walk_object_end;
	sem.array_start = walk_array_start;
	sem.array_end = walk_array_end;
	sem.object_field_start = walk_field_start;
	sem.scalar = walk_scalar;

	lex = makeJsonLexContextCstringLen((char *) body, (int) len, PG_UTF8, true);
	rc = pg_parse_json(lex, &sem);
	if (rc != JSON_SUCCESS)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
				 errmsg("invalid JSON in response from %s", api),
				 errdetail("%s", json_errdetail(rc, lex))));
}
