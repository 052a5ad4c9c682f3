#!/usr/bin/env bash
#
# test/sigv4_test.sh
#	  Build test/sigv4_test.c against src/sigv4.c in a temporary folder and
#	  replay the AWS SigV4 test suite with it.
#
# Fixtures: $FU_FIXTURES if set, else ../shared/fixtures/aws-sigv4 relative
# to the repository root.  Missing fixtures are a skip (exit 0), not a
# failure.  Nothing is written inside the repository.
#
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
fixtures=${FU_FIXTURES:-$repo/../shared/fixtures/aws-sigv4}

if [ ! -d "$fixtures" ]; then
	echo "sigv4: skipped: fixtures not found at $fixtures"
	exit 0
fi
fixtures=$(cd "$fixtures" && pwd)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sigv4_test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

cd "$repo"
cc -std=gnu99 -Wall -Werror -O2 -I src test/sigv4_test.c src/sigv4.c -lcrypto -o "$tmp/sigv4_test"
"$tmp/sigv4_test" "$fixtures"
