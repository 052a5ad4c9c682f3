/*
 * probe.c
 *		test/sanitize.sh's check that sanitizer reports reach its files.
 *
 * Built like the extension and called once in a backend of the sanitized
 * server before the tests: an undefined shift (UBSan reports it and goes
 * on), then a heap overflow (ASan reports it and ends the backend).  The
 * run fails unless both reports are found.
 */
#include "postgres.h"

#include "fmgr.h"

PG_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(fu_sanitizer_probe);

Datum
fu_sanitizer_probe(PG_FUNCTION_ARGS)
{
	int32		shift = PG_GETARG_INT32(0);
	volatile int32 one = 1;
	volatile char *p = malloc(8);
	int32		r;

	r = one << shift;
	p[8 + (r & 0)] = 'x';
	free((void *) p);
	PG_RETURN_INT32(r);
}
