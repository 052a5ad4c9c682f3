/*-------------------------------------------------------------------------
 *
 * pg_stub.h
 *		  What the fuzz harnesses of test/fuzz/ share: the stand-in for the
 *		  PostgreSQL backend (pg_stub.c) and helpers to drive the sources'
 *		  page parsers as the engine does.
 *
 * A harness cannot link the server, so pg_stub.c implements the backend
 * functions the extension's parsers call: memory contexts on malloc (one
 * arena per input, freed after it), ereport/elog (an ERROR jumps back to
 * the harness: on bad input that is the expected outcome, not a crash),
 * StringInfo, Lists, text datums, and syntax-checking stand-ins for
 * numeric_in, jsonb_in and date/time input.  See test/fuzz/README.md.
 *
 *-------------------------------------------------------------------------
 */
#ifndef FU_PG_STUB_H
#define FU_PG_STUB_H

#include "postgres.h"

#include <stdint.h>

#include "engine.h"

/* "today" of the stubs: 2026-06-15, as a DateADT (test/run.sh pins it too) */
#define FU_FUZZ_TODAY 9662

/* stub settings the harnesses may change for an input */
extern bool fu_stub_superuser;	/* what superuser() says */

/*
 * Run fn(arg) for one input: in a fresh memory context (freed after it,
 * with a check that nothing was left in longer-lived contexts), catching
 * an ERROR.  Returns true if fn returned, false if it raised an ERROR.
 */
extern bool fu_fuzz_one(void (*fn) (void *arg), void *arg);

/* Inside fu_fuzz_one: run fn(arg), catching an ERROR; true if none */
extern bool fu_fuzz_try(void (*fn) (void *arg), void *arg);

/* The message of the last ERROR caught (for differential checks) */
extern const char *fu_fuzz_last_error(void);

/* Stop with a message: a harness found a bug (libFuzzer saves the input) */
extern void fu_fuzz_fail(const char *fmt,...) pg_attribute_printf(1, 2) pg_attribute_noreturn();

/*
 * Split an input at NUL bytes into at most max parts, each a palloc'd,
 * NUL-terminated copy with a writable byte after it (page parsers work in
 * place).  The last part keeps any further NUL bytes.  Returns the number
 * of parts.
 */
extern int	fu_fuzz_split(const uint8_t *data, size_t size, char **parts,
						  size_t *lens, int max);

/* A palloc'd copy of data with a NUL (and writable byte) after it */
extern char *fu_fuzz_copy(const void *data, size_t len);

/*
 * A scan of a source as the engine sets it up: its memory contexts, a
 * server "fuzz" without options, no quals.
 */
extern FuScan *fu_fuzz_scan(const FuSource *source, const FuProvider *provider);

/* A request of the scan, with a JSON body (body-token paging needs one) */
extern FuRequest *fu_fuzz_request(FuScan *scan, const char *label,
								  const char *method, const char *url,
								  const char *body);

/*
 * Parse a page as the engine's fetch_page does: the page context reset,
 * page_index set, the source's parse_page in the page context, pages
 * counted.  body must have a writable byte at body[len].
 */
extern void fu_fuzz_parse_page(FuScan *scan, FuRequest *req, char *body,
							   size_t len);

/*
 * Read every row of the current page with the source's next_row, in a row
 * context reset per row, and read every value of the row (types from the
 * source's columns, or from scan->upper).  Returns the number of rows;
 * stops after max_rows.
 */
extern int	fu_fuzz_rows(FuScan *scan, int max_rows);

/* Read a Datum of a type (text-like values are read to their end) */
extern void fu_fuzz_touch(Datum d, Oid type);

#endif							/* FU_PG_STUB_H */
