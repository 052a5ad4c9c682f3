/*-------------------------------------------------------------------------
 *
 * values.c
 *		  Column values from API text: strings in the database encoding,
 *		  decimal strings as numeric without passing through float.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "provider.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/numeric.h"

/*
 * A text Datum from API text (UTF-8).  The page scanner checked the page
 * once, so strings need no check of their own here.
 */
Datum
fu_text_datum(const char *s)
{
	if (GetDatabaseEncoding() == PG_UTF8)
		return CStringGetTextDatum(s);
	return CStringGetTextDatum(pg_any_to_server(s, strlen(s), PG_UTF8));
}

typedef struct ValueContext
{
	const char *column;
	const char *value;
} ValueContext;

static void
value_error_callback(void *arg)
{
	ValueContext *vc = (ValueContext *) arg;

	/* fu_api_text cuts a long value: a huge number is not echoed whole */
	errcontext("column \"%s\", value \"%s\"", vc->column, fu_api_text(vc->value));
}

/*
 * A plain decimal of at most 18 digits ("-41.0728443112") as numeric,
 * exactly, without numeric_in's general parsing; false for anything else.
 */
static bool
fast_decimal(const char *s, Datum *d)
{
	const char *p = s;
	bool		neg = false;
	int64		v = 0;
	int			digits = 0;
	int			scale = -1;

	if (*p == '-')
	{
		neg = true;
		p++;
	}
	for (; *p; p++)
	{
		if (*p >= '0' && *p <= '9')
		{
			if (++digits > 18)
				return false;
			v = v * 10 + (*p - '0');
			if (scale >= 0)
				scale++;
		}
		else if (*p == '.' && scale < 0 && digits > 0)
			scale = 0;
		else
			return false;
	}
	if (digits == 0 || scale == 0)
		return false;
	*d = NumericGetDatum(int64_div_fast_to_numeric(neg ? -v : v,
												   scale < 0 ? 0 : scale));
	return true;
}

/* A numeric Datum from a decimal string; a bad one names its column */
Datum
fu_numeric_datum(const char *s, const char *column)
{
	ValueContext vc;
	ErrorContextCallback cb;
	Datum		d;

	/* the amounts of the APIs are plain decimals: the common case */
	if (fast_decimal(s, &d))
		return d;

	/*
	 * Money is a finite decimal: not NaN nor an infinity, which numeric
	 * would take, and not a thousand digits long
	 */
	if (strspn(s, "+-0123456789.eE") != strlen(s) || strlen(s) > 1000 ||
		strpbrk(s, "0123456789") == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
				 errmsg("the API gave \"%s\" for column \"%s\", not a decimal number",
						fu_api_text(s), column)));

	vc.column = column;
	vc.value = s;
	cb.callback = value_error_callback;
	cb.arg = &vc;
	cb.previous = error_context_stack;
	error_context_stack = &cb;
	d = DirectFunctionCall3(numeric_in, CStringGetDatum(s),
							ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
	error_context_stack = cb.previous;
	return d;
}
