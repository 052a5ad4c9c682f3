/*
 * swift_demangle.c
 *		Preloaded after the ASan runtime into the postmaster by
 *		test/sanitize.sh; not instrumented.
 *
 * Preloaded into a program it is not linked with, the ASan runtime starts
 * at the first call it intercepts, which can be a malloc() in another
 * library's constructor made under a glibc lock (p11-kit's newlocale(),
 * libgpg-error's bindtextdomain()).  Starting, it looks swift_demangle up,
 * and the dlerror() after a failed look-up translates its message under
 * that same lock: the process hangs (every PostgreSQL program does, pg_ctl
 * too).  Found, the look-up leaves no error to translate.  This one
 * demangles nothing, as a missing one would.
 */
#include <stddef.h>
#include <stdint.h>

char	   *swift_demangle(const char *name, size_t len, char *out,
						   size_t *outlen, uint32_t flags);

char *
swift_demangle(const char *name, size_t len, char *out, size_t *outlen,
			   uint32_t flags)
{
	return NULL;
}
