#!/usr/bin/env bash
# Runs the pg_regress schedule against the extension (and the engine's test
# provider) built with AddressSanitizer and UndefinedBehaviorSanitizer, and
# fails on a failed test or on any sanitizer report.
#
# Built with clang (PGXS's, a dependency of postgresql-server-dev-15): its
# ASan runtime holds UBSan's, so both read their options once, in the
# postmaster.  gcc's libubsan is a second runtime that starts in the
# backend, where the environment is gone (rewritten for the title "ps"
# shows), and sends every report to stderr.
#
# Nothing is installed into the system's PostgreSQL: the repository is
# copied to a temp dir and built there, and a private copy of PostgreSQL 15
# is made beside it (PostgreSQL is relocatable: its programs find share/
# and lib/ relative to their own path), into which the ASan build is
# installed with DESTDIR.  Only the postmaster runs with the ASan runtime
# preloaded (initdb, pg_ctl, psql and the emulator do not); the backends
# it forks write their reports to files, read at the end.  A probe module
# checks that reports do reach those files.
#   bash test/sanitize.sh       (as root, like test/run.sh; FU_KEEP=1 keeps
#                                the temp dirs; about 3 minutes)
set -u
# the day the expected output was made for, as in test/run.sh
FU_TODAY=2026-06-15
. "$(dirname "$0")/lib.sh"

SAN_FLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -g -O1"
# PGXS's CFLAGS are gcc's
SAN_QUIET="-Wno-unknown-warning-option -Wno-ignored-optimization-argument -Wno-ignored-attributes"
SAN_T=
SAN_PM=

san_cleanup() {
	local rc=$?
	fu_cleanup
	if [ -n "$SAN_PM" ]; then
		# a postmaster pg_ctl could not stop
		[ -n "${pm:-}" ] && kill -KILL "$pm" 2>/dev/null
		wait "$SAN_PM" 2>/dev/null
	fi
	if [ -n "$SAN_T" ]; then
		if [ -z "${FU_KEEP:-}" ]; then rm -rf "$SAN_T"; else fu_log "kept $SAN_T"; fi
	fi
	[ -n "${FU_KEEP:-}" ] && [ -n "${FU_TMP:-}" ] && fu_log "kept $FU_TMP"
	return $rc
}
trap san_cleanup EXIT

san_fail() {
	echo "sanitize: $*"
	echo "0 passed, 1 failed"
	exit 1
}

cd "$FU_ROOT"
# the ASan runtime is only recommended by clang-14's packages
FU_PACKAGES="$FU_PACKAGES clang-14 libclang-rt-14-dev"
fu_ensure_packages
SAN_CC=$(command -v clang-14) || san_fail "no clang-14"
# the system's PostgreSQL, read only: its headers and PGXS build; its
# programs and share/ are copied
SYS_PG_CONFIG=$FU_PG_CONFIG
sys_bindir=$("$SYS_PG_CONFIG" --bindir)
sys_sharedir=$("$SYS_PG_CONFIG" --sharedir)
sys_pkglibdir=$("$SYS_PG_CONFIG" --pkglibdir)
SAN_RT=$("$SAN_CC" --print-runtime-dir)/libclang_rt.asan-x86_64.so
[ -f "$SAN_RT" ] || san_fail "no $SAN_RT (libclang-rt-14-dev)"
# file names and lines in the reports' stacks (llvm-14, which clang-14 has)
SAN_ENV=()
sym=$(command -v llvm-symbolizer-14) && SAN_ENV+=(ASAN_SYMBOLIZER_PATH="$sym")

SAN_T=$(mktemp -d /tmp/finops_usage_san.XXXXXX)
chmod 755 "$SAN_T"

fu_log "copying the sources to $SAN_T/main"
mkdir "$SAN_T/main"
if git -C "$FU_ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	# tracked and new files, not ignored ones (build products, results)
	git -C "$FU_ROOT" ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
		tar -cf - --null -T - | tar -C "$SAN_T/main" -xf - || san_fail "cannot copy the sources"
else
	cp -a "$FU_ROOT/." "$SAN_T/main" || san_fail "cannot copy the sources"
	find "$SAN_T/main" \( -name '*.o' -o -name '*.so' -o -name '*.bc' \) -delete
	rm -rf "$SAN_T/main/test/results"
fi
# test/sql/gcp.sql reads the fixtures from ../shared, as in the clone
[ -d "$FU_ROOT/../shared" ] && ln -s "$FU_ROOT/../shared" "$SAN_T/shared"

fu_log "making a private copy of PostgreSQL 15"
pg_home=$(dirname "$sys_bindir")
mkdir -p "$SAN_T$(dirname "$pg_home")" "$SAN_T$(dirname "$sys_sharedir")"
cp -a "$pg_home" "$SAN_T$pg_home" || san_fail "cannot copy $pg_home"
cp -a "$sys_sharedir" "$SAN_T$sys_sharedir" || san_fail "cannot copy $sys_sharedir"
FU_PGBIN=$SAN_T$sys_bindir
# relocated: the copy's programs must look in the copy
for d in sharedir pkglibdir; do
	want=$SAN_T$("$SYS_PG_CONFIG" --$d)
	got=$("$FU_PGBIN/pg_config" --$d)
	[ "$got" = "$want" ] || san_fail "the private PostgreSQL's $d is $got, not $want"
done

fu_log "building the extension and the test provider with $SAN_FLAGS"
for dir in "$SAN_T/main" "$SAN_T/main/test/engine"; do
	nice -n 10 make -C "$dir" -s PG_CONFIG="$SYS_PG_CONFIG" CC="$SAN_CC" \
		PG_CFLAGS="$SAN_FLAGS $SAN_QUIET" PG_LDFLAGS=-shared-libasan >/dev/null ||
		san_fail "cannot build $dir"
	make -C "$dir" -s PG_CONFIG="$SYS_PG_CONFIG" DESTDIR="$SAN_T" install >/dev/null ||
		san_fail "cannot install $dir into $SAN_T"
done
for so in finops_usage.so fu_test_provider.so; do
	nm -D "$SAN_T$sys_pkglibdir/$so" | grep -q __asan_init ||
		san_fail "$SAN_T$sys_pkglibdir/$so is not built with ASan"
done
# the probe, built the same way; loaded by its path
"$SAN_CC" $SAN_FLAGS $SAN_QUIET -fPIC -shared -shared-libasan \
	-I"$("$SYS_PG_CONFIG" --includedir-server)" \
	-o "$SAN_T/probe.so" "$SAN_T/main/test/sanitize/probe.c" || san_fail "cannot build the probe"
# preloaded after the ASan runtime: see the file
"$SAN_CC" -O2 -fPIC -shared -o "$SAN_T/swift_demangle.so" "$SAN_T/main/test/sanitize/swift_demangle.c" ||
	san_fail "cannot build swift_demangle.so"

fu_init_cluster || exit 1
SAN_LOG=$FU_TMP/sanitizer
mkdir "$SAN_LOG"
[ "$(id -u)" = 0 ] && chown postgres: "$SAN_LOG"
# ASan: the first error ends the backend, exit code 70 (the postmaster
# takes it for a crash, as for any backend that did not clean up, and
# restarts); leaks are not errors (a backend frees nothing at exit).
# UBSan: reports and goes on.  Reports go to one file a process in SAN_LOG.
fu_log "starting the postmaster with the ASan runtime preloaded (port $FU_PGPORT)"
fu_as_pg env "${FU_SERVER_ENV[@]}" "${SAN_ENV[@]}" LD_PRELOAD="$SAN_RT $SAN_T/swift_demangle.so" \
	ASAN_OPTIONS="detect_leaks=0:abort_on_error=0:halt_on_error=1:exitcode=70:disable_coredump=1:log_path=$SAN_LOG/report" \
	UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=0:log_path=$SAN_LOG/report" \
	"$FU_PGBIN/postgres" -D "$FU_PGDATA" >"$FU_TMP/postgres.log" 2>&1 </dev/null &
SAN_PM=$!
export PGHOST=$FU_PGSOCK PGPORT=$FU_PGPORT PGUSER=postgres
up=
for _ in $(seq 1 600); do
	if "$FU_PGBIN/pg_isready" -q -h "$FU_PGSOCK" -p "$FU_PGPORT"; then up=1; break; fi
	kill -0 "$SAN_PM" 2>/dev/null || break
	sleep 0.1
done
if [ -z "$up" ]; then
	tail -n 30 "$FU_TMP/postgres.log"
	head -n 60 "$SAN_LOG"/* 2>/dev/null
	san_fail "the postmaster did not start"
fi
# the server is the private copy's, with the ASan runtime in its processes
pm=$(head -n 1 "$FU_PGDATA/postmaster.pid")
got=$("$FU_PGBIN/psql" -X -Atq -d postgres -c "SELECT setting FROM pg_config WHERE name = 'PKGLIBDIR'")
[ "$got" = "$SAN_T$sys_pkglibdir" ] || san_fail "the server's PKGLIBDIR is $got, not the private copy's"
grep -qF "$SAN_RT" "/proc/$pm/maps" || san_fail "the postmaster has no ASan runtime"

fu_start_emulator || exit 1

fu_log "pg_regress (sanitized)"
cd "$SAN_T/main" || exit 1
tests=$(cat test/schedule)
for t in $tests; do mkdir -p "test/results/results/$(dirname "$t")"; done
start=$SECONDS
# bounded like test/run.sh's; the sanitized server is about 4 times slower
timeout "${FU_REGRESS_TIMEOUT:-1800}" \
"$(dirname "$("$SYS_PG_CONFIG" --pgxs)")/../test/regress/pg_regress" \
	--inputdir=. --outputdir=test/results --bindir="$FU_PGBIN" \
	--host="$FU_PGSOCK" --port="$FU_PGPORT" --user=postgres \
	--dbname=contrib_regression $tests | tee "$FU_TMP/regress.out"
rc=${PIPESTATUS[0]}
fu_log "pg_regress took $((SECONDS - start)) s"
passed=$(grep -cE ' \.\.\. ok|^ok ' "$FU_TMP/regress.out")
failed=$(grep -cE ' \.\.\. FAILED|^not ok ' "$FU_TMP/regress.out")
if [ $rc != 0 ]; then
	[ $failed = 0 ] && failed=1
	[ -f test/results/regression.diffs ] && head -n 200 test/results/regression.diffs
fi

# the probe, last (the end of its backend restarts the server): both its
# reports must be in its backend's file
probe_pid=$("$FU_PGBIN/psql" -X -Atq -d postgres \
	-c "CREATE FUNCTION fu_sanitizer_probe(int) RETURNS int LANGUAGE c STRICT AS '$SAN_T/probe.so'" \
	-c "SELECT pg_backend_pid()" -c "SELECT fu_sanitizer_probe(40)" 2>/dev/null | head -n 1)
probe=$SAN_LOG/report.$probe_pid
if [ -n "$probe_pid" ] && grep -q 'runtime error: shift exponent 40' "$probe" 2>/dev/null &&
	grep -q 'ERROR: AddressSanitizer: heap-buffer-overflow' "$probe"; then
	passed=$((passed + 1))
else
	echo "sanitize: the probe's reports are not in $probe"
	failed=$((failed + 1))
fi
# restarted before it is stopped
sleep 1
for _ in $(seq 1 300); do
	"$FU_PGBIN/pg_isready" -q -h "$FU_PGSOCK" -p "$FU_PGPORT" && break
	sleep 0.1
done

# stopped (without the preload) before the reports are read: every backend
# has exited and written what it had to
if fu_as_pg "$FU_PGBIN/pg_ctl" -D "$FU_PGDATA" -m fast -w stop >/dev/null; then
	wait "$SAN_PM" 2>/dev/null
	SAN_PM=
else
	echo "sanitize: the server did not stop"
	tail -n 20 "$FU_TMP/postgres.log"
	failed=$((failed + 1))
fi

reports=0
for f in "$SAN_LOG"/*; do
	[ -s "$f" ] && [ "$f" != "$probe" ] || continue
	reports=$((reports + 1))
	if [ $reports = 1 ]; then
		echo "== the first sanitizer report ($f):"
		head -n 100 "$f"
	fi
done
# anything a sanitizer wrote to stderr, before it read its options
if grep -qE 'ERROR: AddressSanitizer|runtime error:' "$FU_TMP/postgres.log"; then
	reports=$((reports + 1))
	echo "== sanitizer output in the server log:"
	grep -m 5 -A 30 -E 'ERROR: AddressSanitizer|runtime error:' "$FU_TMP/postgres.log"
fi
if [ $reports != 0 ]; then
	echo "sanitize: $reports process(es) reported errors (in $SAN_LOG; FU_KEEP=1 keeps it)"
	failed=$((failed + reports))
fi

echo
echo "$passed passed, $failed failed"
[ $failed = 0 ]
