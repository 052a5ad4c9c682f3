#!/usr/bin/env bash
#
# test/fuzz.sh
#	  Build the libFuzzer harnesses of test/fuzz/ with clang 14 (ASan,
#	  UBSan, assertions on) in a temporary folder and run each for a while.
#
#	  bash test/fuzz.sh [seconds-per-harness] [harness...]
#
# seconds defaults to 10; 0 only replays the committed seed corpus.  Names
# (jsonwalk, aws_cost...) pick harnesses; the default is all of them.
# Each harness fuzzes a copy of its corpus (test/fuzz/corpus/<name>/ is
# never written), and one line per harness gives its executions; the last
# line is "N passed, M failed" as test/run.sh counts.  A crash, a leak, a
# timeout, an out-of-memory or a failed check fails the harness; the temp
# folder is then kept, with the input that did it (FU_KEEP=1 keeps it
# always).
#
# clang 14 and libFuzzer come from the Debian packages clang-14 and
# libclang-rt-14-dev, installed when missing (as test/lib.sh does); when
# that is not possible the run is a skip, or a failure if
# FU_REQUIRE_FIXTURES is set (CI).  Nothing is written inside the
# repository, and nothing is installed but those packages.
#
# Environment: FU_FUZZ_RUNS (run each harness this many executions instead
# of a time; seconds must then be non-zero), FU_FUZZ_RSS_MB (default 2048), FU_FUZZ_TIMEOUT (seconds per
# input, default 10), FU_FUZZ_VERBOSE=1 (print the ERRORs the parsers
# raise; for looking at seeds), FU_FUZZ_ARGS (more libFuzzer options).
#
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
fuzzdir=$repo/test/fuzz

secs=${1:-10}
[ $# -gt 0 ] && shift
case $secs in
	'' | *[!0-9]*)
		echo "usage: bash test/fuzz.sh [seconds-per-harness] [harness...]" >&2
		exit 2
		;;
esac

skip_or_fail() {
	if [ -n "${FU_REQUIRE_FIXTURES:-}" ]; then
		echo "fuzz: $1 (FU_REQUIRE_FIXTURES is set)"
		echo "0 passed, 1 failed"
		exit 1
	fi
	echo "fuzz: skipped: $1"
	echo "0 passed, 0 failed, 1 skipped"
	exit 0
}

as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi
}

# ---------- the tools ----------

find_clang() {
	local c
	for c in "${FU_CLANG:-}" /usr/lib/llvm-14/bin/clang "$(command -v clang-14 2>/dev/null)"; do
		if [ -n "$c" ] && [ -x "$c" ]; then
			echo "$c"
			return 0
		fi
	done
	return 1
}

fuzzer_runtime() {
	local dir
	dir=$("$1" -print-resource-dir 2>/dev/null) || return 1
	[ -f "$dir/lib/linux/libclang_rt.fuzzer-x86_64.a" ] ||
		[ -f "$dir/lib/x86_64-unknown-linux-gnu/libclang_rt.fuzzer.a" ]
}

clang=$(find_clang)
if [ -z "$clang" ] || ! fuzzer_runtime "$clang"; then
	echo "== installing Debian packages: clang-14 libclang-rt-14-dev" >&2
	if as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 &&
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang-14 libclang-rt-14-dev >/dev/null 2>&1; then
		clang=$(find_clang)
	fi
	if [ -z "$clang" ] || ! fuzzer_runtime "$clang"; then
		skip_or_fail "clang 14 with libFuzzer (clang-14, libclang-rt-14-dev) is not available"
	fi
fi

pg_config=${FU_PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
[ -x "$pg_config" ] || pg_config=$(command -v pg_config 2>/dev/null)
[ -n "$pg_config" ] || skip_or_fail "pg_config of PostgreSQL 15 not found"
pginc=$("$pg_config" --includedir-server)
pglibs=""
for lib in libpgcommon.a libpgport.a; do
	found=""
	for d in "$("$pg_config" --pkglibdir)" "$("$pg_config" --libdir)"; do
		if [ -f "$d/$lib" ]; then
			found=$d/$lib
			break
		fi
	done
	[ -n "$found" ] || skip_or_fail "$lib of PostgreSQL 15 not found (postgresql-server-dev-15)"
	pglibs="$pglibs $found"
done
[ -f "$pginc/postgres.h" ] || skip_or_fail "PostgreSQL 15 server headers not found (postgresql-server-dev-15)"

# ---------- the harnesses ----------

if [ $# -gt 0 ]; then
	names="$*"
else
	names=$(cd "$fuzzdir" && ls fuzz_*.c | sed 's/^fuzz_//; s/\.c$//')
fi
for n in $names; do
	[ -f "$fuzzdir/fuzz_$n.c" ] || { echo "fuzz: no harness test/fuzz/fuzz_$n.c" >&2; exit 2; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fu_fuzz.XXXXXX")
keep=${FU_KEEP:-}
cleanup() {
	[ -n "$keep" ] || rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$tmp/obj" "$tmp/bin" "$tmp/corpus" "$tmp/artifacts" "$tmp/log"

deps_cflags=$(pkg-config --cflags libcurl jansson openssl 2>/dev/null)
deps_libs=$(pkg-config --libs libcurl jansson libcrypto 2>/dev/null || echo -lcurl -ljansson -lcrypto)
cflags="-g -O1 -fno-omit-frame-pointer -std=gnu99 -DUSE_ASSERT_CHECKING \
	-Wno-unused-command-line-argument -Wno-ignored-attributes \
	-Werror=implicit-function-declaration -Werror=int-conversion \
	-I$fuzzdir -I$repo/src -I$pginc $deps_cflags"
san="-fsanitize=address,undefined -fno-sanitize-recover=all"

# compile a file once; $1 source, $2 object, $3 extra flags
compile() {
	if [ ! -f "$2" ]; then
		# shellcheck disable=SC2086
		if ! "$clang" -c $cflags $3 "$1" -o "$2" 2>"$2.err"; then
			echo "fuzz: could not compile ${1#"$repo"/}:" >&2
			head -n 30 "$2.err" >&2
			return 1
		fi
	fi
}

obj_of() {
	echo "$tmp/obj/$(echo "${1#"$repo"/}" | tr '/.' '__').o"
}

build() {
	local name=$1 src=$fuzzdir/fuzz_$1.c
	local objs="" f o syms

	compile "$fuzzdir/pg_stub.c" "$(obj_of "$fuzzdir/pg_stub.c")" "$san" || return 1
	compile "$fuzzdir/pg_stub_json.c" "$(obj_of "$fuzzdir/pg_stub_json.c")" "$san" || return 1
	objs="$(obj_of "$fuzzdir/pg_stub.c") $(obj_of "$fuzzdir/pg_stub_json.c")"
	# the project files the harness links: its "FUZZ-LINK:" lines
	for f in $(sed -n 's/^.*FUZZ-LINK:\(.*\)$/\1/p' "$src" | sed 's/\*\/.*//'); do
		o=$(obj_of "$repo/$f")
		compile "$repo/$f" "$o" "-fsanitize=fuzzer-no-link $san" || return 1
		objs="$objs $o"
	done
	o=$tmp/obj/fuzz_$name.o
	compile "$src" "$o" "-fsanitize=fuzzer-no-link $san" || return 1
	objs="$objs $o"

	# backend symbols nothing implements become traps that abort if called
	# shellcheck disable=SC2086
	"$clang" -fsanitize=fuzzer $san $objs $pglibs $deps_libs -lm \
		-Wl,--warn-unresolved-symbols -o "$tmp/bin/fuzz_$name" 2>"$tmp/log/link_$name.txt"
	syms=$(grep -o "undefined reference to \`[^']*'" "$tmp/log/link_$name.txt" |
		sed "s/undefined reference to \`//; s/'\$//" | sort -u)
	{
		echo "/* generated by test/fuzz.sh: symbols no stub implements */"
		echo "extern void fu_stub_unreachable(const char *name);"
		for s in $syms; do
			echo "void $s(void); void $s(void) { fu_stub_unreachable(\"$s\"); }"
		done
	} >"$tmp/obj/traps_$name.c"
	[ -n "${FU_FUZZ_VERBOSE:-}" ] && echo "fuzz_$name: traps:" $syms >&2
	# a trap stands in for a function; one for a table of the extension
	# (a source, a provider, docs) would be read as data: link its file
	for s in $syms; do
		case $s in
			fu_source_* | fu_provider_aws | fu_provider_gcp | fu_provider_azure | fu_*_docs | fu_focus_columns)
				echo "fuzz: fuzz_$name reads $s, which no FUZZ-LINK file defines" >&2
				return 1
				;;
		esac
	done
	"$clang" -c -g -O1 "$tmp/obj/traps_$name.c" -o "$tmp/obj/traps_$name.o" || return 1
	# shellcheck disable=SC2086
	if ! "$clang" -fsanitize=fuzzer $san $objs "$tmp/obj/traps_$name.o" $pglibs $deps_libs -lm \
		-o "$tmp/bin/fuzz_$name" 2>"$tmp/log/link_$name.txt"; then
		echo "fuzz: could not link fuzz_$name:" >&2
		head -n 30 "$tmp/log/link_$name.txt" >&2
		return 1
	fi
}

run() {
	local name=$1 bin=$tmp/bin/fuzz_$1 log=$tmp/log/fuzz_$1.txt
	local corpus=$tmp/corpus/$1 art=$tmp/artifacts/$1/ rc execs secs_used dict=""
	local start end

	mkdir -p "$corpus" "$art"
	[ -d "$fuzzdir/corpus/$name" ] && cp -R "$fuzzdir/corpus/$name/." "$corpus/"
	[ -f "$fuzzdir/dict/$name.dict" ] && dict="-dict=$fuzzdir/dict/$name.dict"
	# FU_FUZZ_RUNS: this many executions, however long they take
	local limit="-max_total_time=$secs"
	[ -n "${FU_FUZZ_RUNS:-}" ] && limit="-runs=$FU_FUZZ_RUNS"
	start=$(date +%s)
	if [ "$secs" = 0 ]; then
		# shellcheck disable=SC2086
		"$bin" -runs=0 -rss_limit_mb="${FU_FUZZ_RSS_MB:-2048}" \
			-timeout="${FU_FUZZ_TIMEOUT:-10}" -print_final_stats=1 \
			-artifact_prefix="$art" $dict ${FU_FUZZ_ARGS:-} "$corpus" >"$log" 2>&1
	else
		# shellcheck disable=SC2086
		"$bin" $limit -rss_limit_mb="${FU_FUZZ_RSS_MB:-2048}" \
			-timeout="${FU_FUZZ_TIMEOUT:-10}" -print_final_stats=1 \
			-artifact_prefix="$art" $dict ${FU_FUZZ_ARGS:-} "$corpus" >"$log" 2>&1
	fi
	rc=$?
	end=$(date +%s)
	secs_used=$((end - start))
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	execs=${execs:-0}
	if [ $rc = 0 ] && ! grep -qE '^==[0-9]+==ERROR|^SUMMARY: |fuzz check failed' "$log"; then
		echo "fuzz_$name: ok, $execs executions in ${secs_used} s, corpus $(ls "$corpus" | wc -l) inputs"
		return 0
	fi
	local what=crash
	grep -q 'ERROR: LeakSanitizer' "$log" && what=leak
	grep -q 'ERROR: libFuzzer: timeout' "$log" && what=timeout
	grep -qE 'ERROR: libFuzzer: (out-of-memory|malloc)' "$log" && what=out-of-memory
	grep -q 'fuzz check failed' "$log" && what="failed check"
	echo "fuzz_$name: FAILED ($what) after $execs executions in ${secs_used} s; input: $(ls "$art" 2>/dev/null | head -n 1 | sed "s|^|$art|")"
	grep -E 'ERROR|fuzz check failed|SUMMARY|^    #[0-9]+ .* in [^ ]+ (/[^ ]*)?(test/fuzz|src)/' "$log" |
		grep -vE 'fu_fuzz_fail|fu_stub_unreachable' | head -n 16 | sed 's/^/  /'
	keep=1
	return 1
}

passed=0
failed=0
for n in $names; do
	if ! build "$n"; then
		echo "fuzz_$n: FAILED (build)"
		keep=1
		failed=$((failed + 1))
		continue
	fi
	if run "$n"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
	fi
done

[ -n "$keep" ] && echo "fuzz: kept $tmp (inputs that failed in artifacts/)"
echo "$passed passed, $failed failed"
[ $failed = 0 ]
