/*-------------------------------------------------------------------------
 *
 * fuzz_jsonwalk.c
 *		  libFuzzer harness of the in-place JSON event scanner
 *		  (src/jsonwalk.c, fu_parse_json_events), the hot path every page
 *		  parser runs on.
 *
 * Input: one byte of settings (which field names the handlers look for,
 * and which list field, if any, must be an array of objects), then the
 * page.  Besides the sanitizers, it checks:
 * - every token handed to the handlers: inside the page, NUL-terminated,
 *   valid UTF-8 without NUL; numbers in RFC 8259's grammar; true, false
 *   and null as themselves;
 * - the position: depth within limits and matching the events, and the
 *   field-name code of the innermost object the first name equal to the
 *   field (the scanner looks names up in a hash table);
 * - against jansson: a document jansson accepts (nested at most 15 deep)
 *   is accepted, one the scanner accepts jansson accepts (but for numbers
 *   jansson cannot hold), and both decode the same strings (keys and
 *   values, escapes and surrogate pairs undone), when no list shape is
 *   asked for.
 *
 *-------------------------------------------------------------------------
 */
/* FUZZ-LINK: src/jsonwalk.c test/fuzz/jsonwalk_ref.c */
#include "postgres.h"

#include "jsonwalk.h"
#include "mb/pg_wchar.h"
#include "pg_stub.h"

typedef void (*fu_ref_string_cb) (void *arg, const char *s, size_t len);
extern int	fu_ref_json(const char *text, size_t len, fu_ref_string_cb cb,
						void *arg, char *err, size_t errlen);

/* names of the sources' handlers, and tricky ones (same hashes, prefixes) */
static const char *const names_real[] = {
	"ResultsByTime", "Groups", "Amount", "Unit", "NextPageToken", "Estimated",
	"TimePeriod", "Start", "End", "Total", "Keys", "Metrics", "timeSeries",
	"nextPageToken", "metric", "resource", "type", "labels", "points",
	"value", "rows", "f", "v", "properties", "nextLink", "columns", "name",
	"values", "id", "data", NULL
};
static const char *const names_tricky[] = {
	"a", "b", "ab", "ba", "aa", "aaa", "A", "\xc3\xa9", "key", "keys", "Key",
	"x", "xx", "xxx", "xxxx", "y", "yx", "xy", "z\"", "\\", "1", "11", "111",
	"ab ba", "abc", "acb", "bac", "bca", "cab", "cba", "a\xe2\x82\xac", "q", NULL
};
static const char *const names_one[] = {"rows", NULL};

typedef struct WalkCheck
{
	const char *const *names;
	const char *start;
	const char *end;
	int			depth;			/* ours, from the events */
	List	   *strings;		/* char * of the strings seen, for jansson */
	int			nstrings;
} WalkCheck;

static bool
valid_number(const char *s)
{
	const char *p = s;

	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (*p >= '0' && *p <= '9')
			p++;
	else
		return false;
	if (*p == '.')
	{
		p++;
		if (!(*p >= '0' && *p <= '9'))
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'e' || *p == 'E')
	{
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!(*p >= '0' && *p <= '9'))
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	return *p == '\0';
}

static void
check_string(WalkCheck *c, const char *s, const char *what)
{
	size_t		len;

	if (s < c->start || s > c->end)
		fu_fuzz_fail("a %s does not point into the page", what);
	len = strnlen(s, c->end - s + 1);
	if (s + len > c->end)
		fu_fuzz_fail("a %s is not NUL-terminated inside the page", what);
	if (!pg_verify_mbstr(PG_UTF8, s, len, true))
		fu_fuzz_fail("a %s is not valid UTF-8", what);
}

static void
record_string(WalkCheck *c, const char *s)
{
	c->strings = lappend(c->strings, pstrdup(s));
	c->nstrings++;
}

static void
check_position(WalkCheck *c, FuJsonWalk *w)
{
	if (w->depth != c->depth)
		fu_fuzz_fail("the walk is at depth %d, the events say %d", w->depth, c->depth);
	if (w->depth < 0 || w->depth >= FU_WALK_MAX_DEPTH)
		fu_fuzz_fail("depth %d out of range", w->depth);
}

/* the value just started is a field's: its name is w->key */
static void
check_field(WalkCheck *c, FuJsonWalk *w, int level)
{
	int			expected = -1;

	if (level <= 0 || w->arrays[level])
		return;
	check_string(c, w->key, "field name");
	record_string(c, w->key);
	for (int i = 0; c->names[i]; i++)
		if (strcmp(c->names[i], w->key) == 0)
		{
			expected = i;
			break;
		}
	if (w->codes[level] != expected)
		fu_fuzz_fail("field \"%s\" has code %d, expected %d", w->key,
					 w->codes[level], expected);
	if (!fu_walk_at(w, level, expected) && expected >= 0)
		fu_fuzz_fail("fu_walk_at disagrees with the code of \"%s\"", w->key);
}

static void
h_object_start(void *arg, FuJsonWalk *w)
{
	WalkCheck  *c = (WalkCheck *) arg;

	c->depth++;
	check_position(c, w);
	if (w->arrays[w->depth] || w->codes[w->depth] != -1)
		fu_fuzz_fail("a new object level is not a fresh object");
	check_field(c, w, w->depth - 1);
}

static void
h_array_start(void *arg, FuJsonWalk *w)
{
	WalkCheck  *c = (WalkCheck *) arg;

	c->depth++;
	check_position(c, w);
	if (!w->arrays[w->depth])
		fu_fuzz_fail("a new array level is not an array");
	check_field(c, w, w->depth - 1);
}

static void
h_object_end(void *arg, FuJsonWalk *w)
{
	WalkCheck  *c = (WalkCheck *) arg;

	check_position(c, w);
	if (w->arrays[w->depth])
		fu_fuzz_fail("an object ends at an array level");
	c->depth--;
}

static void
h_array_end(void *arg, FuJsonWalk *w)
{
	WalkCheck  *c = (WalkCheck *) arg;

	check_position(c, w);
	if (!w->arrays[w->depth])
		fu_fuzz_fail("an array ends at an object level");
	c->depth--;
}

static void
h_scalar(void *arg, FuJsonWalk *w, char *token, FuJsonToken type)
{
	WalkCheck  *c = (WalkCheck *) arg;

	check_position(c, w);
	check_field(c, w, w->depth);
	check_string(c, token, "token");
	switch (type)
	{
		case FU_JSON_STRING:
			record_string(c, token);
			break;
		case FU_JSON_NUMBER:
			if (!valid_number(token))
				fu_fuzz_fail("number token \"%s\" is not a JSON number", token);
			break;
		case FU_JSON_TRUE:
			if (strcmp(token, "true") != 0)
				fu_fuzz_fail("true token \"%s\"", token);
			break;
		case FU_JSON_FALSE:
			if (strcmp(token, "false") != 0)
				fu_fuzz_fail("false token \"%s\"", token);
			break;
		case FU_JSON_NULL:
			if (strcmp(token, "null") != 0)
				fu_fuzz_fail("null token \"%s\"", token);
			break;
		default:
			fu_fuzz_fail("token type %d", (int) type);
	}
}

typedef struct Input
{
	const uint8_t *data;
	size_t		size;
	FuJsonHandlers h;
	WalkCheck	check;
	char	   *page;
	size_t		len;
} Input;

static void
parse(void *arg)
{
	Input	   *in = (Input *) arg;

	fu_parse_json_events("fuzz", in->page, in->len, &in->h, &in->check);
	if (in->check.depth != 0)
		fu_fuzz_fail("the document ended at depth %d", in->check.depth);
}

static void
ref_string(void *arg, const char *s, size_t len)
{
	List	  **l = (List **) arg;

	*l = lappend(*l, pnstrdup(s, len));
	if (strlen(s) != len)
		fu_fuzz_fail("jansson decoded a string with a NUL");
}

static int
cmp_str(const ListCell *a, const ListCell *b)
{
	return strcmp((char *) lfirst(a), (char *) lfirst(b));
}

static void
one(void *arg)
{
	Input	   *in = (Input *) arg;
	uint8_t		settings = in->size > 0 ? in->data[0] : 0;
	const uint8_t *doc = in->size > 0 ? in->data + 1 : in->data;
	size_t		len = in->size > 0 ? in->size - 1 : 0;
	static const char *const lists[] = {NULL, "rows", "value", NULL};
	bool		accepted;
	List	   *ref = NIL;
	char		err[200];
	int			depth;

	memset(&in->h, 0, sizeof(in->h));
	in->h.names = (settings & 3) == 0 ? names_real :
		(settings & 3) == 1 ? names_tricky : (settings & 3) == 2 ? names_one : NULL;
	in->h.list = in->h.names ? lists[(settings >> 2) & 3] : NULL;
	if (in->h.list && in->h.names == names_tricky)
		in->h.list = NULL;
	if (in->h.list && in->h.names == names_one)
		in->h.list = "rows";
	in->h.object_start = h_object_start;
	in->h.object_end = h_object_end;
	in->h.array_start = h_array_start;
	in->h.array_end = h_array_end;
	in->h.scalar = h_scalar;

	memset(&in->check, 0, sizeof(in->check));
	in->check.names = in->h.names ? in->h.names : (const char *const[]) {NULL};
	in->page = fu_fuzz_copy(doc, len);
	in->len = len;
	in->check.start = in->page;
	in->check.end = in->page + len;

	accepted = fu_fuzz_try(parse, in);

	/* the reference reads the bytes as they came (the scan works in place) */
	depth = fu_ref_json((const char *) doc, len, ref_string, &ref, err, sizeof(err));
	if (in->h.list != NULL)
	{
		if (accepted && depth < 0 && strstr(err, "too big") == NULL &&
			strstr(err, "overflow") == NULL)
			fu_fuzz_fail("the scanner accepted what jansson rejects: %s", err);
		return;
	}
	/* jansson stops at a NUL byte; PostgreSQL text cannot hold one */
	if (depth >= 0 && depth < FU_WALK_MAX_DEPTH && !accepted &&
		memchr(doc, '\0', len) == NULL)
		fu_fuzz_fail("the scanner rejected JSON that jansson reads: %s",
					 fu_fuzz_last_error());
	if (accepted && depth < 0 && strstr(err, "too big") == NULL &&
		strstr(err, "overflow") == NULL)
		fu_fuzz_fail("the scanner accepted what jansson rejects: %s", err);
	if (accepted && depth >= 0 && list_length(ref) == in->check.nstrings)
	{
		ListCell   *a,
				   *b;

		/* duplicate keys aside (jansson keeps one), the same strings */
		list_sort(ref, cmp_str);
		list_sort(in->check.strings, cmp_str);
		forboth(a, ref, b, in->check.strings)
			if (strcmp((char *) lfirst(a), (char *) lfirst(b)) != 0)
				fu_fuzz_fail("jansson decodes \"%s\", the scanner \"%s\"",
							 (char *) lfirst(a), (char *) lfirst(b));
	}
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Input		in;

	in.data = data;
	in.size = size;
	fu_fuzz_one(one, &in);
	return 0;
}
