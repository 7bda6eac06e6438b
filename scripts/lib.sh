# Shared by scripts/run, test, release, bench and fuzz-api: install what is missing, skip
# what is there; start and stop the throw-away services the tests use.
# Sourced, not run. Sourcing only defines functions and constants (its one command is the
# subshell that finds ROOT): no shell option, trap, export or change of folder, so
# `source scripts/lib.sh && start_postgres` is safe in an interactive shell. Each script
# sets its own `set -euo pipefail` and `cd "$ROOT"`. Nothing downloads outside the Rust, npm and Debian registries.

# The repository, wherever the caller stands.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# cargo-leptos 0.3.11 needs rustc 1.96 and later releases 1.97; 0.3.10 builds on 1.95.
CARGO_LEPTOS_VERSION="0.3.10"

# Where cargo puts binaries (CARGO_TARGET_DIR moves it). cargo-leptos writes the site under
# the repository's target/ regardless, unless LEPTOS_SITE_ROOT says otherwise.
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

ensure_wasm_target() {
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "Adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
}

# The wasm-bindgen crate's version, pinned with `=` in Cargo.toml: the CLI must equal it.
wasm_bindgen_version() {
  sed -n 's/^wasm-bindgen = "=\(.*\)"$/\1/p' "$ROOT/Cargo.toml"
}

ensure_wasm_bindgen() {
  local version
  version="$(wasm_bindgen_version)"
  if ! wasm-bindgen --version 2>/dev/null | grep -q " ${version}\$"; then
    say "Installing wasm-bindgen-cli ${version} (about 3 minutes)"
    # Not --locked: its lockfile names a crate version the registry mirror lacks.
    cargo install wasm-bindgen-cli --version "${version}"
  fi
}

ensure_cargo_leptos() {
  if ! cargo leptos --version 2>/dev/null | grep -q "${CARGO_LEPTOS_VERSION}"; then
    say "Installing cargo-leptos ${CARGO_LEPTOS_VERSION} (about 15-20 minutes, once)"
    cargo install cargo-leptos --version "${CARGO_LEPTOS_VERSION}" --locked
  fi
}

ensure_debian_packages() {
  local missing=() pair
  for pair in "$@"; do
    local command="${pair%%:*}" package="${pair##*:}"
    command -v "$command" >/dev/null 2>&1 || missing+=("$package")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    say "Installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  fi
}

ensure_npm_packages() {
  local dir="$ROOT/end2end"
  if [ ! -d "$dir/node_modules/@playwright/test" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    say "Installing the end-to-end test packages (Playwright, without its browsers)"
    (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
  fi
}

# Release builds optimise the wasm with binaryen's wasm-opt: npm's binaryen 132, under
# tools/, first on PATH. Debian's binaryen (108) builds a wasm that never hydrates
# (`WebAssembly.Table.set` error), and without any wasm-opt cargo-leptos tries a download.
ensure_wasm_opt() {
  local dir="$ROOT/tools"
  if [ ! -x "$dir/node_modules/.bin/wasm-opt" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    say "Installing binaryen's wasm-opt from npm (for release builds)"
    (cd "$dir" && npm ci --no-audit --no-fund)
  fi
  export PATH="$ROOT/tools/node_modules/.bin:$PATH"
}

# Release binaries refuse to start without Microsoft credentials unless the built-in
# emulator is asked for: the scripts ask for it when no credentials are set.
use_emulator_unless_configured() {
  if [ -z "${TRACELESS_MS_CLIENT_ID:-}" ] && [ -z "${TRACELESS_MS_CLIENT_SECRET:-}" ]; then
    export TRACELESS_MS_EMULATOR="${TRACELESS_MS_EMULATOR:-true}"
  fi
}

ensure_build_tools() {
  ensure_wasm_target
  ensure_wasm_bindgen
  ensure_cargo_leptos
}

# A free loopback TCP port.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Waits until $1/healthz answers 200, or fails after $2 seconds.
wait_healthy() {
  local url="$1" deadline=$((SECONDS + ${2:-60}))
  until curl -fsS "$url/healthz" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "The server at $url did not become healthy in time" >&2
      return 1
    fi
    sleep 0.5
  done
}

# A throw-away PostgreSQL cluster for tests: Debian's `postgresql` (installed when missing),
# `initdb` in a temporary folder owned by the unprivileged `postgres` user (PostgreSQL
# refuses to run as root), listening on a free loopback port only, with its socket in that
# folder. Sets POSTGRES_DIR and POSTGRES_URL (superuser `traceless`, database `postgres`,
# no password: trust on loopback only); `stop_postgres` removes it all. Durability is off
# (`fsync`, `synchronous_commit`: throw-away data) unless POSTGRES_DURABLE=1 (scripts/bench,
# so its figures are those of a server that keeps what it answered for).
# `start_postgres tls` serves TLS only (`ssl=on`, plain TCP refused), with a throw-away CA
# and a server certificate for 127.0.0.1 and localhost made by openssl; POSTGRES_URL then
# asks for `sslmode=verify-full` with that CA (`sslrootcert`), and POSTGRES_CA names it.
start_postgres() {
  local tls="${1:-}"
  local bin
  bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    say "Installing Debian's postgresql"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql
    bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
  fi
  local port run_as=()
  # `|| return`: also without `set -e`, as in an interactive shell.
  port="$(free_port)" || return 1
  POSTGRES_DIR="$(mktemp -d)" || return 1
  chmod 755 "$POSTGRES_DIR"
  local tls_options="" query=""
  if [ "$tls" = tls ]; then
    make_postgres_certificates "$POSTGRES_DIR/tls"
    tls_options="-c ssl=on -c ssl_cert_file=${POSTGRES_DIR}/tls/server.crt -c ssl_key_file=${POSTGRES_DIR}/tls/server.key"
    query="?sslmode=verify-full&sslrootcert=${POSTGRES_DIR}/tls/ca.crt"
    POSTGRES_CA="$POSTGRES_DIR/tls/ca.crt"
    export POSTGRES_CA
  fi
  if [ "$(id -u)" = 0 ]; then
    chown -R postgres: "$POSTGRES_DIR" || return 1
    run_as=(runuser -u postgres --)
  fi
  say "Starting a throw-away PostgreSQL on 127.0.0.1:${port}${tls:+ (TLS only)}"
  "${run_as[@]}" "$bin/initdb" -D "$POSTGRES_DIR/data" -U traceless --auth=trust \
    --encoding=UTF8 --no-locale >"$POSTGRES_DIR/initdb.log" 2>&1 \
    || { cat "$POSTGRES_DIR/initdb.log" >&2; return 1; }
  if [ "$tls" = tls ]; then
    # Only TLS over TCP: a client that does not ask for it is refused, so a passing suite
    # proves every connection (pools, LISTEN/NOTIFY, sessions) is encrypted.
    printf 'local all all trust\nhostssl all all 127.0.0.1/32 trust\n' \
      | "${run_as[@]}" tee "$POSTGRES_DIR/data/pg_hba.conf" >/dev/null
  fi
  # Throw-away data: durability settings off, room for a few instances' pools.
  local durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  [ "${POSTGRES_DURABLE:-}" = 1 ] && durability=""
  "${run_as[@]}" "$bin/pg_ctl" -D "$POSTGRES_DIR/data" -w -l "$POSTGRES_DIR/log" \
    -o "-p ${port} -k ${POSTGRES_DIR} -c listen_addresses=127.0.0.1 ${durability} -c max_connections=300 ${tls_options}" \
    start >/dev/null \
    || { cat "$POSTGRES_DIR/log" >&2; return 1; }
  POSTGRES_BIN="$bin"
  POSTGRES_URL="postgres://traceless@127.0.0.1:${port}/postgres${query}"
  export POSTGRES_DIR POSTGRES_BIN POSTGRES_URL
}

# A throw-away CA and a server certificate it signed, for 127.0.0.1 and localhost, in $1:
# ca.crt, server.crt, server.key (private to its owner, as PostgreSQL insists). The
# extensions are what rustls (webpki) checks: a CA that says it is one, and names in the
# subject alternative name (the common name is not read).
make_postgres_certificates() {
  local dir="$1"
  mkdir -p "$dir"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Traceless test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
  printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "basicConstraints=CA:FALSE" \
    "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" \
    >"$dir/server.ext"
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
    -CAcreateserial -days 2 -extfile "$dir/server.ext" -out "$dir/server.crt" 2>/dev/null
  chmod 600 "$dir/server.key" "$dir/ca.key"
  chmod 644 "$dir/ca.crt" "$dir/server.crt"
}

stop_postgres() {
  [ -n "${POSTGRES_DIR:-}" ] || return 0
  local run_as=()
  [ "$(id -u)" = 0 ] && run_as=(runuser -u postgres --)
  "${run_as[@]}" "$POSTGRES_BIN/pg_ctl" -D "$POSTGRES_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$POSTGRES_DIR"
  POSTGRES_DIR=""
}

# nginx in the foreground of a temporary folder, on loopback only: round-robin over the
# instances on ports $2 and $3, listening on port $1 (on 127.0.0.1, and on ::1 when the
# machine has IPv6 loopback). It appends each client to X-Forwarded-For with its port,
# `203.0.113.5:51234` or `[2001:db8::5]:51234`, as Azure Application Gateway does (the
# instances must trust 127.0.0.1 to read it). Requests carrying
# `X-Traceless-Instance: 1` (or 2) prefer that instance and fall back to the other when it
# is down (tests pin a browser to an instance that way); everything else, Microsoft's
# callbacks included, goes round-robin. Unbuffered, with long reads: server-sent events.
# Optional: $4 connections per worker (default 1024, one worker; given, one worker per core,
# since a worker's open files stop at the hard limit and scripts/bench's thousands of streams
# take two each) and $5 idle connections kept open to the instances (default none: a new one
# per request; scripts/bench keeps some, or its callback bursts run out of loopback ports).
# Sets NGINX_DIR and NGINX_PID; `stop_nginx` ends it and removes the folder.
start_nginx() {
  local port="$1" first="$2" second="$3" connections="${4:-1024}" keepalive="" listen_v6=""
  local workers=1 files=""
  if [ -n "${4:-}" ]; then
    workers=auto
    files="worker_rlimit_nofile $((connections * 2));"
  fi
  [ -n "${5:-}" ] && keepalive="    keepalive ${5};"
  ensure_debian_packages nginx:nginx
  if python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null; then
    listen_v6="    listen [::1]:${port};"
  fi
  NGINX_DIR="$(mktemp -d)"
  chmod 755 "$NGINX_DIR"
  cat >"$NGINX_DIR/nginx.conf" <<CONF
worker_processes ${workers};
${files}
pid ${NGINX_DIR}/nginx.pid;
error_log ${NGINX_DIR}/error.log warn;
events { worker_connections ${connections}; }
http {
  access_log ${NGINX_DIR}/access.log;
  client_body_temp_path ${NGINX_DIR}/body;
  proxy_temp_path ${NGINX_DIR}/proxy;
  fastcgi_temp_path ${NGINX_DIR}/fastcgi;
  uwsgi_temp_path ${NGINX_DIR}/uwsgi;
  scgi_temp_path ${NGINX_DIR}/scgi;
  upstream traceless {
    server 127.0.0.1:${first} max_fails=1 fail_timeout=10s;
    server 127.0.0.1:${second} max_fails=1 fail_timeout=10s;
${keepalive}
  }
  upstream prefer_first {
    server 127.0.0.1:${first} max_fails=1 fail_timeout=10s;
    server 127.0.0.1:${second} backup;
  }
  upstream prefer_second {
    server 127.0.0.1:${second} max_fails=1 fail_timeout=10s;
    server 127.0.0.1:${first} backup;
  }
  map \$remote_addr \$client_with_port {
    ~: "[\$remote_addr]:\$remote_port";
    default "\$remote_addr:\$remote_port";
  }
  map \$http_x_forwarded_for \$forwarded_with_port {
    "" \$client_with_port;
    default "\$http_x_forwarded_for, \$client_with_port";
  }
  map \$http_x_traceless_instance \$instances {
    1 prefer_first;
    2 prefer_second;
    default traceless;
  }
  server {
    listen 127.0.0.1:${port};
${listen_v6}
    location / {
      proxy_pass http://\$instances;
      proxy_set_header Host \$http_host;
      proxy_set_header X-Forwarded-For \$forwarded_with_port;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_read_timeout 60s;
      proxy_next_upstream error timeout;
      add_header X-Traceless-Upstream \$upstream_addr always;
    }
  }
}
CONF
  nginx -c "$NGINX_DIR/nginx.conf" -g 'daemon off;' &
  NGINX_PID=$!
  export NGINX_DIR NGINX_PID
}

stop_nginx() {
  [ -n "${NGINX_PID:-}" ] || return 0
  kill "$NGINX_PID" 2>/dev/null || true
  wait "$NGINX_PID" 2>/dev/null || true
  rm -rf "$NGINX_DIR"
  NGINX_PID=""
}

# Per-client counting through nginx ($1, listening on port $2): invitation acceptances are
# limited per client address (30 per 5 minutes). Client 127.0.0.2 spends its allowance
# through instance 1; then 127.0.0.3 (and ::1, when nginx listens there) is still let in.
# Read as the proxy's own address (an `ip:port` entry not understood), all would be one
# client, and refused together.
check_clients_counted_behind_nginx() {
  local url="$1" port="$2" status="" n
  say "Clients behind nginx (X-Forwarded-For with ports) are counted one by one"
  accept_from() {
    curl -s -o /dev/null -w '%{http_code}' "$@" -H 'X-Traceless-Instance: 1' \
      -H 'Accept: application/json' --data 'token=not-an-invitation&password=not-a-password' \
      "${url}/api/accept_invite"
  }
  for n in $(seq 1 40); do
    status="$(accept_from --interface 127.0.0.2)"
    [ "$status" = 429 ] && break
  done
  if [ "$status" != 429 ]; then
    echo "127.0.0.2 was never refused ($status after $n tries)" >&2
    return 1
  fi
  status="$(accept_from --interface 127.0.0.3)"
  if [ "$status" = 429 ]; then
    echo "127.0.0.3 was refused with 127.0.0.2: clients behind nginx are counted as one" >&2
    return 1
  fi
  if grep -q "listen \[::1\]" "$NGINX_DIR/nginx.conf"; then
    status="$(curl -s -o /dev/null -w '%{http_code}' -H 'X-Traceless-Instance: 1' \
      -H 'Accept: application/json' --data 'token=not-an-invitation&password=not-a-password' \
      "http://[::1]:${port}/api/accept_invite")"
    if [ "$status" = 429 ]; then
      echo "::1 was refused with 127.0.0.2: [v6]:port entries are not read" >&2
      return 1
    fi
  fi
  echo "127.0.0.2 refused after ${n} tries; 127.0.0.3 and ::1 let in"
}
