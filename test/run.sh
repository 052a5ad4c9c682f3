#!/usr/bin/env bash
# Runs every test: installs what is missing, builds and installs the
# extension, starts a throwaway cluster and the emulator, runs the SigV4
# suite, the emulator's self-check and pg_regress, and tears it all down.
#   bash test/run.sh            (FU_KEEP=1 keeps the temp dir for a look)
set -u
# the day the expected output was made for, in the emulator and the extension
FU_TODAY=2026-06-15
. "$(dirname "$0")/lib.sh"
trap fu_cleanup EXIT
cd "$FU_ROOT"

fu_ensure_packages
fu_build || exit 1
# the provider the engine tests use (test/engine/fu_test_provider.c)
fu_log "building and installing the engine's test provider"
make -C "$FU_ROOT/test/engine" -s PG_CONFIG="$FU_PG_CONFIG" >/dev/null || exit 1
fu_sudo make -C "$FU_ROOT/test/engine" -s PG_CONFIG="$FU_PG_CONFIG" install >/dev/null || exit 1

passed=0
failed=0
skipped=0
count() {
	# add the "N passed, M failed[, K skipped]" of a suite's last line
	local line=$1
	local p f s
	p=$(grep -oE '[0-9]+ passed' <<<"$line" | grep -oE '[0-9]+')
	f=$(grep -oE '[0-9]+ failed' <<<"$line" | grep -oE '[0-9]+')
	s=$(grep -oE '[0-9]+ skipped' <<<"$line" | grep -oE '[0-9]+')
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0}))
	skipped=$((skipped + ${s:-0}))
}

fu_log "SigV4 test suite"
out=$(bash test/aws/sigv4_test.sh 2>&1)
rc=$?
echo "$out" | grep -v '^ok ' 
count "$(echo "$out" | tail -n 1)"
[ $rc = 0 ] || failed=$((failed + 1))

fu_log "RS256 (Google service-account JWT) test"
out=$(bash test/gcp/jwt_test.sh 2>&1)
rc=$?
echo "$out" | grep -v '^ok '
count "$(echo "$out" | tail -n 1)"
[ $rc = 0 ] || failed=$((failed + 1))

fu_log "emulator self-check"
out=$("$FU_PYTHON" test/emulator/selftest.py 2>&1)
rc=$?
echo "$out" | tail -n 3
count "$(echo "$out" | tail -n 1)"
[ $rc = 0 ] || failed=$((failed + 1))

fu_start_cluster || exit 1
fu_start_emulator || exit 1

fu_log "pg_regress"
# FU_TESTS="engine/cache functions/cost" runs only those (each sets up what
# it uses)
tests=${FU_TESTS:-$(cat test/schedule)}
# the tests mirror src/: results go to the same folders
for t in $tests; do mkdir -p "test/results/results/$(dirname "$t")"; done
# bounded: a hang (a planner loop does not check for interrupts) must fail
# the run rather than use up CI's time; the whole schedule takes about 30 s
timeout "${FU_REGRESS_TIMEOUT:-900}" \
"$(dirname "$("$FU_PG_CONFIG" --pgxs)")/../test/regress/pg_regress" \
	--inputdir=. --outputdir=test/results --bindir="$FU_PGBIN" \
	--host="$FU_PGSOCK" --port="$FU_PGPORT" --user=postgres \
	--dbname=contrib_regression $tests | tee "$FU_TMP/regress.out"
rc=${PIPESTATUS[0]}
p=$(grep -cE ' \.\.\. ok|^ok ' "$FU_TMP/regress.out")
f=$(grep -cE ' \.\.\. FAILED|^not ok ' "$FU_TMP/regress.out")
passed=$((passed + p))
failed=$((failed + f))
if [ $rc != 0 ]; then
	[ $f = 0 ] && failed=$((failed + 1))
	[ -f test/results/regression.diffs ] && head -n 200 test/results/regression.diffs
fi

# the same schedule against an ASan and UBSan build, on its own cluster
# (about three minutes; FU_SANITIZE=0 skips it)
if [ "${FU_SANITIZE:-1}" != 0 ]; then
	fu_log "sanitizers: the regress suite against an ASan and UBSan build (test/sanitize.sh)"
	out=$(bash test/sanitize.sh 2>&1)
	rc=$?
	echo "$out" | grep -vE ' \.\.\. ok|^ok '
	count "$(echo "$out" | tail -n 1)"
	[ $rc = 0 ] || failed=$((failed + 1))
fi

# libFuzzer harnesses of every parser, a short smoke run: the seed corpus
# and a few seconds of mutations each (about two minutes with the build;
# FU_FUZZ=0 skips it; longer runs by hand, test/fuzz/README.md)
if [ "${FU_FUZZ:-1}" != 0 ]; then
	fu_log "fuzzing smoke run (test/fuzz.sh ${FU_FUZZ_SECONDS:-3})"
	out=$(bash test/fuzz.sh "${FU_FUZZ_SECONDS:-3}" 2>&1)
	rc=$?
	echo "$out"
	count "$(echo "$out" | tail -n 1)"
	[ $rc = 0 ] || failed=$((failed + 1))
fi

echo
echo "$passed passed, $failed failed, $skipped skipped"
[ $failed = 0 ]
