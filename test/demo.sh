#!/usr/bin/env bash
# The demo: a throwaway cluster, the bundled cloud emulator with the
# fictional company "Northwind Robotics", and example FinOps queries.
#   bash test/demo.sh            (FU_TODAY=YYYY-MM-DD to move "today")
set -u
. "$(dirname "$0")/lib.sh"
trap fu_cleanup EXIT
cd "$FU_ROOT"

fu_ensure_packages
fu_build || exit 1
fu_start_cluster || exit 1
fu_start_emulator || exit 1

fu_log "running test/demo.sql"
"$FU_PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -v emu="$FU_EMU_URL" -d postgres -f test/demo.sql
