#!/usr/bin/env bash
#
# test/gcp/jwt_test.sh
#	  Build test/gcp/jwt_test.c against src/gcp/rs256.c in a temporary
#	  folder and check RS256 signing with the google-auth test key pair.
#
# Fixtures: $FU_FIXTURES if set (the fixtures folder, or its gcp-auth
# folder itself), else ../shared/fixtures/gcp-auth relative to the
# repository root.  Missing fixtures fail the run when FU_REQUIRE_FIXTURES
# is set (CI sets it); otherwise they are a skip.  Nothing is written
# inside the repository.
#
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
fixtures=${FU_FIXTURES:-$repo/../shared/fixtures}
[ -d "$fixtures/gcp-auth" ] && fixtures=$fixtures/gcp-auth

if [ ! -f "$fixtures/service_account.json" ]; then
	if [ -n "${FU_REQUIRE_FIXTURES:-}" ]; then
		echo "jwt: fixtures not found at $fixtures (FU_REQUIRE_FIXTURES is set)"
		echo "0 passed, 1 failed"
		exit 1
	fi
	echo "jwt: skipped: fixtures not found at $fixtures"
	echo "0 passed, 0 failed, 1 skipped"
	exit 0
fi
fixtures=$(cd "$fixtures" && pwd)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/jwt_test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

cd "$repo"
cc -std=gnu99 -Wall -Werror -O2 -I src/gcp test/gcp/jwt_test.c src/gcp/rs256.c -lcrypto -o "$tmp/jwt_test"
"$tmp/jwt_test" "$fixtures"
