/*-------------------------------------------------------------------------
 *
 * json.c
 *		  Small JSON documents through jansson.
 *
 * jansson allocates with malloc (its allocator is process-wide, so it is
 * not redirected to palloc); every root is released before anything here
 * can raise an error.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <jansson.h>

#include "json.h"

/* A member by its path: "error.errors.0.reason" (numbers index arrays) */
static json_t *
lookup_path(json_t *v, char *path)
{
	char	   *save = NULL;

	for (char *seg = strtok_r(path, ".", &save); seg && v;
		 seg = strtok_r(NULL, ".", &save))
	{
		if (json_is_array(v) && seg[0] >= '0' && seg[0] <= '9')
			v = json_array_get(v, strtoul(seg, NULL, 10));
		else
			v = json_object_get(v, seg);
	}
	return v;
}

bool
fu_json_get_strings(const char *text, size_t len, const char *const *keys,
					char **values)
{
	json_t	   *root;
	json_error_t err;
	int			n = 0;
	char	   *found[16];

	for (n = 0; keys[n]; n++)
		values[n] = NULL;
	if (n > lengthof(found))
		elog(ERROR, "more than %d keys asked of a JSON object", (int) lengthof(found));

	root = json_loadb(text, len, 0, &err);
	if (root == NULL || !json_is_object(root))
	{
		if (root)
			json_decref(root);
		return false;
	}

	/* copy with malloc first, so that nothing below raises with root held */
	for (int i = 0; i < n; i++)
	{
		char	   *alts = strdup(keys[i]);
		char	   *save = NULL;

		found[i] = NULL;
		if (alts == NULL)
			continue;
		for (char *k = strtok_r(alts, "|", &save); k && !found[i];
			 k = strtok_r(NULL, "|", &save))
		{
			json_t	   *v = lookup_path(root, k);
			char		num[64];

			if (json_is_string(v))
				found[i] = strdup(json_string_value(v));
			else if (json_is_integer(v))
			{
				snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
						 json_integer_value(v));
				found[i] = strdup(num);
			}
		}
		free(alts);
	}
	json_decref(root);

	for (int i = 0; i < n; i++)
	{
		if (found[i])
		{
			values[i] = pstrdup(found[i]);
			free(found[i]);
		}
	}
	return true;
}
