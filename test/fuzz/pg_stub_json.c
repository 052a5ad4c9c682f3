/*-------------------------------------------------------------------------
 *
 * pg_stub_json.c
 *		  Is a text JSON?  For the jsonb_in stand-in of pg_stub.c, apart
 *		  from it: jansson and PostgreSQL's headers both declare json_object.
 *
 *-------------------------------------------------------------------------
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

extern bool fu_stub_json_valid(const char *s, char *err, size_t errlen);

bool
fu_stub_json_valid(const char *s, char *err, size_t errlen)
{
	json_error_t e;
	json_t	   *root = json_loads(s, JSON_DECODE_ANY, &e);

	if (root == NULL)
	{
		snprintf(err, errlen, "%s at position %d", e.text, e.position);
		return false;
	}
	json_decref(root);
	return true;
}
