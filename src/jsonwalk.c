/*-------------------------------------------------------------------------
 *
 * jsonwalk.c
 *		  An in-place event scanner for pages of JSON, and where it is: the
 *		  field names and container kinds of every level.
 *
 * No tree is built, and a page of any shape gives a clean ERROR instead of
 * a crash, since every test of the position goes through fu_walk_at, which
 * checks that the level is an object with that field.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "jsonwalk.h"
#include "mb/pg_wchar.h"

static void
walk_enter(FuJsonWalk *w, bool array)
{
	if (++w->depth >= FU_WALK_MAX_DEPTH)
		fu_json_malformed(w->api,
						  psprintf("The document is nested more than %d levels deep.",
								   FU_WALK_MAX_DEPTH - 1));
	w->codes[w->depth] = -1;
	w->arrays[w->depth] = array;
}

static void
walk_leave(FuJsonWalk *w)
{
	w->depth--;
}

static inline int
name_hash(const char *s, size_t len)
{
	return (int) ((len * 131 + (unsigned char) s[0] * 31 +
				   (unsigned char) s[len - 1]) & (FU_WALK_HASH_SIZE - 1));
}

/* Set up the lookup of the handlers' field names */
static void
walk_init_names(FuJsonWalk *w, const char *const *names)
{
	memset(w->slots, -1, sizeof(w->slots));
	w->names = names;
	for (int i = 0; names && names[i]; i++)
	{
		size_t		len = strlen(names[i]);
		int			h = name_hash(names[i], len);

		if (i >= FU_WALK_HASH_SIZE / 2)
			elog(ERROR, "more than %d field names in JSON handlers",
				 FU_WALK_HASH_SIZE / 2);
		while (w->slots[h] >= 0)
			h = (h + 1) & (FU_WALK_HASH_SIZE - 1);
		w->slots[h] = i;
		w->name_lens[i] = len;
	}
}

/* Enter a field of the current object: look its name up once */
static void
walk_field(FuJsonWalk *w, char *fname, size_t len)
{
	int			code = -1;

	if (len > 0)
	{
		int			h = name_hash(fname, len);
		int			i;

		while ((i = w->slots[h]) >= 0)
		{
			if (w->name_lens[i] == len)
			{
				/* names are short: a loop beats a call to memcmp */
				const char *a = w->names[i];
				size_t		k = 0;

				while (k < len && a[k] == fname[k])
					k++;
				if (k == len)
				{
					code = i;
					break;
				}
			}
			h = (h + 1) & (FU_WALK_HASH_SIZE - 1);
		}
	}
	w->codes[w->depth] = code;
}

/* A page of the API that is JSON but not of the shape expected */
void
fu_json_malformed(const char *api, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
			 errmsg("malformed response from %s", api),
			 errdetail("%s", detail)));
}

void
fu_walk_malformed(FuJsonWalk *w, const char *detail)
{
	fu_json_malformed(w->api, detail);
}

/* ---------- the page scanner ---------- */

/*
 * A JSON event scanner that works in place: strings and numbers are handed
 * to the handlers as NUL-terminated pieces of the page itself (a closing
 * quote or the delimiter after a number becomes the NUL; escapes are
 * undone in place, which never lengthens a string).  No allocation per
 * token: this is the hot path of every large scan.  The grammar is RFC 8259
 * JSON; anything else raises a clean ERROR naming the byte offset.
 */
typedef struct Scanner
{
	char	   *start;
	char	   *p;
	char	   *end;
	FuJsonWalk	walk;
	const FuJsonHandlers *h;
	void	   *state;
} Scanner;

static void scan_value(Scanner *s);

/* bytes that end the fast path of a string: quote, backslash, controls */
static const bool string_special[256] = {
	[0x00] = true,[0x01] = true,[0x02] = true,[0x03] = true,
	[0x04] = true,[0x05] = true,[0x06] = true,[0x07] = true,
	[0x08] = true,[0x09] = true,[0x0A] = true,[0x0B] = true,
	[0x0C] = true,[0x0D] = true,[0x0E] = true,[0x0F] = true,
	[0x10] = true,[0x11] = true,[0x12] = true,[0x13] = true,
	[0x14] = true,[0x15] = true,[0x16] = true,[0x17] = true,
	[0x18] = true,[0x19] = true,[0x1A] = true,[0x1B] = true,
	[0x1C] = true,[0x1D] = true,[0x1E] = true,[0x1F] = true,
	['"'] = true,['\\'] = true,
};

static void pg_attribute_noreturn()
scan_error(Scanner *s, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
			 errmsg("invalid JSON in response from %s", s->walk.api),
			 errdetail("%s at byte %ld of %ld.", what,
					   (long) (s->p - s->start), (long) (s->end - s->start))));
}

static inline void
skip_ws(Scanner *s)
{
	while (s->p < s->end &&
		   (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
		s->p++;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static unsigned int
scan_hex4(Scanner *s, char *at)
{
	unsigned int v = 0;

	if (s->end - at < 4)
		scan_error(s, "Truncated \\u escape");
	for (int i = 0; i < 4; i++)
	{
		int			h = hexval(at[i]);

		if (h < 0)
			scan_error(s, "Invalid \\u escape");
		v = (v << 4) | h;
	}
	return v;
}

/*
 * The string at s->p (after its opening quote), NUL-terminated in place;
 * its length goes to *len.
 */
static char *
scan_string(Scanner *s, size_t *len)
{
	char	   *str = s->p;
	char	   *out;
	char	   *q = s->p;

	/* the common case: no escapes; the NUL at the end stops the loop too */
	while (!string_special[(unsigned char) *q])
		q++;
	if (q < s->end && (unsigned char) *q < 0x20)
	{
		s->p = q;
		scan_error(s, "Control character in a string");
	}
	if (q < s->end && *q == '"')
	{
		*q = '\0';
		*len = q - str;
		s->p = q + 1;
		return str;
	}

	/* undo escapes, writing behind the reading position */
	out = q;
	while (q < s->end && *q != '"')
	{
		if ((unsigned char) *q < 0x20)
		{
			s->p = q;
			scan_error(s, "Control character in a string");
		}
		if (*q != '\\')
		{
			*out++ = *q++;
			continue;
		}
		if (++q >= s->end)
			break;
		switch (*q)
		{
			case '"':
			case '\\':
			case '/':
				*out++ = *q++;
				break;
			case 'b':
				*out++ = '\b';
				q++;
				break;
			case 'f':
				*out++ = '\f';
				q++;
				break;
			case 'n':
				*out++ = '\n';
				q++;
				break;
			case 'r':
				*out++ = '\r';
				q++;
				break;
			case 't':
				*out++ = '\t';
				q++;
				break;
			case 'u':
				{
					unsigned int cp = scan_hex4(s, q + 1);

					q += 5;
					if (cp >= 0xD800 && cp <= 0xDBFF)
					{
						unsigned int lo;

						if (s->end - q < 6 || q[0] != '\\' || q[1] != 'u' ||
							(lo = scan_hex4(s, q + 2)) < 0xDC00 || lo > 0xDFFF)
						{
							s->p = q;
							scan_error(s, "Unpaired surrogate in a \\u escape");
						}
						cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
						q += 6;
					}
					else if (cp >= 0xDC00 && cp <= 0xDFFF)
					{
						s->p = q;
						scan_error(s, "Unpaired surrogate in a \\u escape");
					}
					if (cp == 0)
					{
						s->p = q;
						scan_error(s, "\\u0000 in a string");
					}
					/* UTF-8: never longer than the escape it replaces */
					if (cp < 0x80)
						*out++ = (char) cp;
					else if (cp < 0x800)
					{
						*out++ = (char) (0xC0 | (cp >> 6));
						*out++ = (char) (0x80 | (cp & 0x3F));
					}
					else if (cp < 0x10000)
					{
						*out++ = (char) (0xE0 | (cp >> 12));
						*out++ = (char) (0x80 | ((cp >> 6) & 0x3F));
						*out++ = (char) (0x80 | (cp & 0x3F));
					}
					else
					{
						*out++ = (char) (0xF0 | (cp >> 18));
						*out++ = (char) (0x80 | ((cp >> 12) & 0x3F));
						*out++ = (char) (0x80 | ((cp >> 6) & 0x3F));
						*out++ = (char) (0x80 | (cp & 0x3F));
					}
					break;
				}
			default:
				s->p = q;
				scan_error(s, "Invalid escape in a string");
		}
	}
	if (q >= s->end)
	{
		s->p = s->end;
		scan_error(s, "The document ends inside a string");
	}
	*out = '\0';
	*len = out - str;
	s->p = q + 1;
	return str;
}

/*
 * A number, true, false or null at s->p: NUL-terminated in place.  The
 * delimiter it overwrites is put back in *next for the caller.
 */
static char *
scan_bare(Scanner *s, char *next, FuJsonToken *type)
{
	char	   *tok = s->p;
	char	   *q = s->p;

	if (*q == '-' || (*q >= '0' && *q <= '9'))
	{
		*type = FU_JSON_NUMBER;
		if (*q == '-')
			q++;
		if (q < s->end && *q == '0')
			q++;
		else if (q < s->end && *q >= '1' && *q <= '9')
			while (q < s->end && *q >= '0' && *q <= '9')
				q++;
		else
			goto bad;
		if (q < s->end && *q == '.')
		{
			if (++q >= s->end || *q < '0' || *q > '9')
				goto bad;
			while (q < s->end && *q >= '0' && *q <= '9')
				q++;
		}
		if (q < s->end && (*q == 'e' || *q == 'E'))
		{
			q++;
			if (q < s->end && (*q == '+' || *q == '-'))
				q++;
			if (q >= s->end || *q < '0' || *q > '9')
				goto bad;
			while (q < s->end && *q >= '0' && *q <= '9')
				q++;
		}
	}
	else if (s->end - q >= 4 && memcmp(q, "true", 4) == 0)
	{
		*type = FU_JSON_TRUE;
		q += 4;
	}
	else if (s->end - q >= 5 && memcmp(q, "false", 5) == 0)
	{
		*type = FU_JSON_FALSE;
		q += 5;
	}
	else if (s->end - q >= 4 && memcmp(q, "null", 4) == 0)
	{
		*type = FU_JSON_NULL;
		q += 4;
	}
	else
		goto bad;

	/* a token ends at a delimiter */
	if (q < s->end && *q != ',' && *q != '}' && *q != ']' && *q != ' ' &&
		*q != '\n' && *q != '\r' && *q != '\t')
		goto bad;
	*next = (q < s->end) ? *q : '\0';
	*q = '\0';
	s->p = q;
	return tok;

bad:
	s->p = q;
	scan_error(s, "Unexpected character");
	return NULL;				/* keep compiler quiet */
}

/* The rows' list must be an array of objects */
static void
check_list_shape(Scanner *s, bool scalar)
{
	FuJsonWalk *w = &s->walk;

	if (w->list == NULL || !fu_walk_at(w, 1, w->list_code))
		return;
	if (w->depth == 1 && scalar)
		fu_walk_malformed(w, psprintf("%s is not an array.", w->list));
	if (w->depth == 2 && !w->arrays[2])
		fu_walk_malformed(w, psprintf("%s is not an array.", w->list));
	if (w->depth == 2 && scalar)
		fu_walk_malformed(w, psprintf("A %s entry is not an object.", w->list));
	if (w->depth == 3 && w->arrays[3])
		fu_walk_malformed(w, psprintf("A %s entry is not an object.", w->list));
}

static void
scan_scalar(Scanner *s)
{
	char	   *tok;
	char		next;
	FuJsonToken type;
	size_t		len;

	check_list_shape(s, true);

	if (*s->p == '"')
	{
		s->p++;
		tok = scan_string(s, &len);
		if (s->h->scalar)
			s->h->scalar(s->state, &s->walk, tok, FU_JSON_STRING);
		return;
	}
	tok = scan_bare(s, &next, &type);
	if (s->h->scalar)
		s->h->scalar(s->state, &s->walk, tok, type);
	if (s->p < s->end)
		*s->p = next;
}

static void
scan_object(Scanner *s)
{
	s->p++;						/* { */
	walk_enter(&s->walk, false);
	check_list_shape(s, false);
	if (s->h->object_start)
		s->h->object_start(s->state, &s->walk);
	skip_ws(s);
	if (s->p < s->end && *s->p == '}')
		s->p++;
	else
	{
		for (;;)
		{
			char	   *key;
			size_t		len;

			skip_ws(s);
			if (s->p >= s->end || *s->p != '"')
				scan_error(s, s->p >= s->end ? "The document ends early" :
						   "Expected a field name");
			s->p++;
			key = scan_string(s, &len);
			walk_field(&s->walk, key, len);
			s->walk.key = key;
			skip_ws(s);
			if (s->p >= s->end || *s->p != ':')
				scan_error(s, "Expected ':'");
			s->p++;
			scan_value(s);
			skip_ws(s);
			if (s->p < s->end && *s->p == ',')
			{
				s->p++;
				continue;
			}
			if (s->p < s->end && *s->p == '}')
			{
				s->p++;
				break;
			}
			scan_error(s, s->p >= s->end ? "The document ends early" :
					   "Expected ',' or '}'");
		}
	}
	if (s->h->object_end)
		s->h->object_end(s->state, &s->walk);
	walk_leave(&s->walk);
}

static void
scan_array(Scanner *s)
{
	s->p++;						/* [ */
	walk_enter(&s->walk, true);
	check_list_shape(s, false);
	if (s->walk.depth == 2 && s->walk.list && fu_walk_at(&s->walk, 1, s->walk.list_code))
		s->walk.list_seen = true;
	if (s->h->array_start)
		s->h->array_start(s->state, &s->walk);
	skip_ws(s);
	if (s->p < s->end && *s->p == ']')
		s->p++;
	else
	{
		for (;;)
		{
			scan_value(s);
			skip_ws(s);
			if (s->p < s->end && *s->p == ',')
			{
				s->p++;
				continue;
			}
			if (s->p < s->end && *s->p == ']')
			{
				s->p++;
				break;
			}
			scan_error(s, s->p >= s->end ? "The document ends early" :
					   "Expected ',' or ']'");
		}
	}
	if (s->h->array_end)
		s->h->array_end(s->state, &s->walk);
	walk_leave(&s->walk);
}

static void
scan_value(Scanner *s)
{
	skip_ws(s);
	if (s->p >= s->end)
		scan_error(s, "The document ends early");
	switch (*s->p)
	{
		case '{':
			scan_object(s);
			break;
		case '[':
			scan_array(s);
			break;
		default:
			scan_scalar(s);
			break;
	}
}

/*
 * Parse a response page (UTF-8 JSON) with the handlers, in place: the page
 * is modified, and must have a writable byte at body[len].  The strings the
 * handlers get point into the page and are valid UTF-8: the page is checked
 * once, here.
 */
void
fu_parse_json_events(const char *api, char *body, size_t len,
					 const FuJsonHandlers *h, void *state)
{
	Scanner		s;

	if (len > (size_t) INT_MAX ||
		!pg_verify_mbstr(PG_UTF8, body, (int) len, true))
		fu_json_malformed(api, "The response is not valid UTF-8.");
	memset(&s, 0, sizeof(s));
	s.start = body;
	s.p = body;
	s.end = body + len;
	s.walk.api = api;
	walk_init_names(&s.walk, h->names);
	s.walk.list = h->list;
	s.walk.list_code = -1;
	for (int i = 0; h->list && h->names && h->names[i]; i++)
		if (strcmp(h->names[i], h->list) == 0)
			s.walk.list_code = i;
	Assert(h->list == NULL || s.walk.list_code >= 0);
	s.h = h;
	s.state = state;
	body[len] = '\0';

	scan_value(&s);
	skip_ws(&s);
	if (s.p < s.end)
		scan_error(&s, "Unexpected data after the document");
	if (h->list && !s.walk.list_seen)
		fu_walk_malformed(&s.walk, psprintf("The response has no %s array.", h->list));
}
