/*-------------------------------------------------------------------------
 *
 * jsonwalk.h
 *		  An in-place event scanner for pages of JSON, and the position it
 *		  keeps (the field name and container kind of every level).
 *
 * Pages of rows are the hot path: they are parsed with events, not into a
 * tree, and the strings handed to the handlers point into the page itself.
 * This module knows JSON and nothing of the foreign data wrapper.
 *
 *-------------------------------------------------------------------------
 */
#ifndef FU_JSONWALK_H
#define FU_JSONWALK_H

#define FU_WALK_MAX_DEPTH 16
#define FU_WALK_HASH_SIZE 64	/* holds up to 32 field names */

/* Token types handed to the scalar handler */
typedef enum FuJsonToken
{
	FU_JSON_STRING,
	FU_JSON_NUMBER,
	FU_JSON_TRUE,
	FU_JSON_FALSE,
	FU_JSON_NULL
} FuJsonToken;

typedef struct FuJsonWalk
{
	const char *api;			/* for error messages */
	const char *const *names;	/* the field names the handlers look for */
	int			name_lens[FU_WALK_HASH_SIZE / 2];
	int			slots[FU_WALK_HASH_SIZE];	/* open addressing: name index */
	const char *list;			/* the handlers' list field, or NULL */
	int			list_code;
	bool		list_seen;
	int			depth;			/* 1 is the top-level container */
	int			codes[FU_WALK_MAX_DEPTH];	/* index in names, or -1 */
	bool		arrays[FU_WALK_MAX_DEPTH];
	const char *key;			/* the name of the innermost field, for maps
								 * whose keys are data (labels) */
} FuJsonWalk;

/*
 * Is level depth an object, now in the field names[code]?  Names are looked
 * up once per field, so the handlers' many tests are integer compares.
 */
static inline bool
fu_walk_at(const FuJsonWalk *w, int depth, int code)
{
	return depth <= w->depth && depth > 0 && !w->arrays[depth] &&
		w->codes[depth] == code;
}

extern void fu_json_malformed(const char *api, const char *detail) pg_attribute_noreturn();
extern void fu_walk_malformed(FuJsonWalk *w, const char *detail) pg_attribute_noreturn();

/* handlers of fu_parse_json_events; the walk is already at the new level */
typedef struct FuJsonHandlers
{
	const char *const *names;	/* NULL-terminated; codes are their indexes */

	/*
	 * The top-level field whose array of objects holds the rows, if any: the
	 * scanner checks that shape and that the field is there.
	 */
	const char *list;
	void		(*object_start) (void *state, FuJsonWalk *w);
	void		(*object_end) (void *state, FuJsonWalk *w);
	/* arrays of rows that are arrays (columnar answers) */
	void		(*array_start) (void *state, FuJsonWalk *w);
	void		(*array_end) (void *state, FuJsonWalk *w);
	void		(*scalar) (void *state, FuJsonWalk *w, char *token,
						   FuJsonToken type);
} FuJsonHandlers;

extern void fu_parse_json_events(const char *api, char *body, size_t len,
								 const FuJsonHandlers *h, void *state);

#endif							/* FU_JSONWALK_H */
