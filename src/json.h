/*-------------------------------------------------------------------------
 *
 * json.h
 *		  Small JSON documents (error bodies, token replies) through jansson.
 *
 * jansson declares json_object, as does PostgreSQL's fmgrprotos.h, so
 * jansson stays inside json.c.  Pages of rows do not come here: they are
 * parsed by jsonwalk.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef FU_JSON_H
#define FU_JSON_H

/*
 * Look up string (or integer) members of a top-level object.  For each key
 * in keys (a NULL-terminated list of alternatives separated by '|', e.g.
 * "message|Message"; a path such as "error.errors.0.reason" reaches into
 * objects and arrays), store a palloc'd copy of its text or NULL in values.
 * Returns false if the text is not a JSON object.
 */
extern bool fu_json_get_strings(const char *text, size_t len,
								const char *const *keys, char **values);

#endif							/* FU_JSON_H */
