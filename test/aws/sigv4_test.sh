#!/usr/bin/env bash
#
# test/aws/sigv4_test.sh
#	  Build test/aws/sigv4_test.c against src/aws/sigv4.c in a temporary
#	  folder and replay the AWS SigV4 test suite with it.
#
# Fixtures: $FU_FIXTURES if set, else ../shared/fixtures/aws-sigv4 relative
# to the repository root.  Missing fixtures fail the run when
# FU_REQUIRE_FIXTURES is set (CI sets it); otherwise they are a skip.
# Nothing is written inside the repository.
#
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
fixtures=${FU_FIXTURES:-$repo/../shared/fixtures/aws-sigv4}

if [ ! -d "$fixtures" ]; then
	if [ -n "${FU_REQUIRE_FIXTURES:-}" ]; then
		echo "sigv4: fixtures not found at $fixtures (FU_REQUIRE_FIXTURES is set)"
		echo "0 passed, 1 failed"
		exit 1
	fi
	echo "sigv4: skipped: fixtures not found at $fixtures"
	echo "0 passed, 0 failed, 1 skipped"
	exit 0
fi
fixtures=$(cd "$fixtures" && pwd)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sigv4_test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

cd "$repo"
cc -std=gnu99 -Wall -Werror -O2 -I src/aws test/aws/sigv4_test.c src/aws/sigv4.c -lcrypto -o "$tmp/sigv4_test"
"$tmp/sigv4_test" "$fixtures"
