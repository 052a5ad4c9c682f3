/*-------------------------------------------------------------------------
 *
 * jsonwalk_ref.c
 *		  The reference the jsonwalk harness compares the scanner with:
 *		  jansson's reading of the same bytes (kept out of the harness, as
 *		  jansson and PostgreSQL's headers both declare json_object).
 *
 *-------------------------------------------------------------------------
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

typedef void (*fu_ref_string_cb) (void *arg, const char *s, size_t len);

extern int	fu_ref_json(const char *text, size_t len, fu_ref_string_cb cb,
						void *arg, char *err, size_t errlen);

/* the strings (keys and values) of v, and its depth in containers */
static int
walk(json_t *v, fu_ref_string_cb cb, void *arg)
{
	int			depth = 0;

	if (json_is_object(v))
	{
		const char *key;
		json_t	   *member;

		json_object_foreach(v, key, member)
		{
			int			d;

			cb(arg, key, strlen(key));
			d = walk(member, cb, arg);
			if (d > depth)
				depth = d;
		}
		return depth + 1;
	}
	if (json_is_array(v))
	{
		size_t		i;
		json_t	   *member;

		json_array_foreach(v, i, member)
		{
			int			d = walk(member, cb, arg);

			if (d > depth)
				depth = d;
		}
		return depth + 1;
	}
	if (json_is_string(v))
		cb(arg, json_string_value(v), json_string_length(v));
	return 0;
}

/*
 * The depth of the document in containers (0: a scalar), calling cb for
 * every string; -1 if jansson rejects it (its message in err).
 */
int
fu_ref_json(const char *text, size_t len, fu_ref_string_cb cb, void *arg,
			char *err, size_t errlen)
{
	json_error_t e;
	json_t	   *root = json_loadb(text, len, JSON_DECODE_ANY, &e);
	int			depth;

	if (root == NULL)
	{
		snprintf(err, errlen, "%s", e.text);
		return -1;
	}
	depth = walk(root, cb, arg);
	json_decref(root);
	return depth;
}
