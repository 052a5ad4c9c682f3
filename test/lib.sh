# Shared by test/run.sh and test/demo.sh: packages, build, a throwaway
# PostgreSQL cluster owned by an unprivileged user, and the emulator.
# Everything started here is stopped by fu_cleanup (installed as a trap).

FU_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FU_PACKAGES="postgresql-15 postgresql-server-dev-15 libcurl4-openssl-dev libjansson-dev libssl-dev pkg-config make gcc curl python3"
# PostgreSQL 15's, whatever other versions the machine has (FU_PGBIN may
# name a private copy, as test/sanitize.sh makes: a build and install there
# leaves the system's alone)
FU_PGBIN=${FU_PGBIN:-/usr/lib/postgresql/15/bin}
FU_PG_CONFIG=$FU_PGBIN/pg_config
FU_PYTHON=/usr/bin/python3
# the emulator's "today" (test/run.sh pins it so output is stable; empty:
# the emulator follows the clock, as the demo does)
FU_TODAY=${FU_TODAY-}

fu_log() { printf '== %s\n' "$*" >&2; }

fu_sudo() {
	# run a command as root: directly when we are root, else through sudo
	if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

fu_ensure_packages() {
	local missing=""
	for p in $FU_PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
	done
	if [ -n "$missing" ]; then
		fu_log "installing Debian packages:$missing"
		fu_sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
		# the Debian package creates a default cluster we do not use
		fu_sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
	fi
}

fu_build() {
	fu_log "building and installing the extension"
	make -C "$FU_ROOT" -s PG_CONFIG="$FU_PG_CONFIG" >/dev/null
	fu_sudo make -C "$FU_ROOT" -s PG_CONFIG="$FU_PG_CONFIG" install >/dev/null
}

# The unprivileged user that owns the cluster
fu_pg_user() {
	if [ "$(id -u)" = 0 ]; then echo postgres; else id -un; fi
}

fu_as_pg() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

fu_free_port() {
	"$FU_PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

fu_start_cluster() {
	fu_init_cluster || return 1
	fu_as_pg env "${FU_SERVER_ENV[@]}" \
		"$FU_PGBIN/pg_ctl" -D "$FU_PGDATA" -l "$FU_TMP/postgres.log" -w start >/dev/null
	export PGHOST=$FU_PGSOCK PGPORT=$FU_PGPORT PGUSER=postgres
}

# A cluster's data directory, configuration and credential files, and the
# server's environment in FU_SERVER_ENV; not started (test/sanitize.sh
# starts the postmaster itself).
fu_init_cluster() {
	FU_TMP=$(mktemp -d /tmp/finops_usage.XXXXXX)
	chmod 755 "$FU_TMP"
	FU_PGDATA=$FU_TMP/data
	FU_PGSOCK=$FU_TMP/sock
	mkdir -p "$FU_PGDATA" "$FU_PGSOCK"
	[ "$(id -u)" = 0 ] && chown -R postgres: "$FU_TMP"
	FU_PGPORT=$(fu_free_port)
	fu_log "starting a throwaway cluster on port $FU_PGPORT ($FU_PGDATA)"
	fu_as_pg "$FU_PGBIN/initdb" -D "$FU_PGDATA" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
	cat >>"$FU_PGDATA/postgresql.conf" <<EOF
listen_addresses = ''
port = $FU_PGPORT
unix_socket_directories = '$FU_PGSOCK'
fsync = off
log_min_messages = warning
EOF
	# the server's own credentials file, for use_server_credentials
	printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' \
		AKIAFINOPSEMULATOR01 'emulator/Secret/Key/For/Tests+0123456789' >"$FU_TMP/aws_credentials"
	[ "$(id -u)" = 0 ] && chown postgres: "$FU_TMP/aws_credentials"
	# and its Google key (GOOGLE_APPLICATION_CREDENTIALS), when the fixtures
	# are there, and the emulator's Entra ID application (AZURE_*)
	local gcp_key="$FU_ROOT/../shared/fixtures/gcp-auth/service_account.json"
	if [ -f "$gcp_key" ]; then
		cp "$gcp_key" "$FU_TMP/gcp_key.json"
		[ "$(id -u)" = 0 ] && chown postgres: "$FU_TMP/gcp_key.json"
	fi
	FU_SERVER_ENV=(AWS_SHARED_CREDENTIALS_FILE="$FU_TMP/aws_credentials"
		GOOGLE_APPLICATION_CREDENTIALS="$FU_TMP/gcp_key.json"
		AZURE_TENANT_ID=4f8a2c61-9d3e-4b7a-8c15-2e6f0a9b3d47
		AZURE_CLIENT_ID=b2c1f0e9-6a7d-4e3b-9c28-5f1a0d7e4b63
		AZURE_CLIENT_SECRET='northwind~Emulator.Secret-0123456789')
}

fu_start_emulator() {
	local portfile=$FU_TMP/emulator.port
	fu_log "starting the cloud emulator (today = ${FU_TODAY:-the clock})"
	"$FU_PYTHON" "$FU_ROOT/test/emulator/server.py" --port 0 --port-file "$portfile" \
		${FU_TODAY:+--today "$FU_TODAY"} "$@" >"$FU_TMP/emulator.log" 2>&1 &
	FU_EMU_PID=$!
	for _ in $(seq 1 100); do
		[ -s "$portfile" ] && break
		kill -0 "$FU_EMU_PID" 2>/dev/null || { cat "$FU_TMP/emulator.log" >&2; return 1; }
		sleep 0.1
	done
	FU_EMU_URL=http://127.0.0.1:$(cat "$portfile")
	export FU_EMULATOR_URL=$FU_EMU_URL
}

fu_cleanup() {
	local rc=$?
	if [ -n "${FU_EMU_PID:-}" ]; then kill "$FU_EMU_PID" 2>/dev/null; wait "$FU_EMU_PID" 2>/dev/null; fi
	if [ -n "${FU_PGDATA:-}" ] && [ -f "$FU_PGDATA/postmaster.pid" ]; then
		fu_as_pg "$FU_PGBIN/pg_ctl" -D "$FU_PGDATA" -m immediate stop >/dev/null 2>&1
	fi
	if [ -n "${FU_TMP:-}" ] && [ -z "${FU_KEEP:-}" ]; then rm -rf "$FU_TMP"; fi
	return $rc
}
