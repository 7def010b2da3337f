#!/usr/bin/env bash
# The local OpenID Connect provider (infra/local/oidc/server.mjs, oidc-provider) people sign in to
# the console with and scripts get ID tokens from (infra/local/oidc/accounts.mjs).
#   oidc.sh start --console-url URL   start it (or keep the running one if it has that console URL)
#   oidc.sh stop                      stop it (idempotent); its state stays for stop.sh to delete
#   oidc.sh status                    exit 0 if it runs and answers, else 1
# It listens on $OIDC_ISSUER; its signing key and users live in $OIDC_DIR (deleted by stop.sh).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

OIDC_START_TIMEOUT=${OIDC_START_TIMEOUT:-20}
SERVER="$OIDC_APP_DIR/server.mjs"

fail() { echo "oidc.sh: $*" >&2; exit 1; }
usage() { echo "usage: oidc.sh start --console-url URL | stop | status" >&2; exit 2; }

oidc_port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$OIDC_PORT") 2>/dev/null; }

answers() {
  curl -fsS --noproxy '*' --max-time 2 "$OIDC_ISSUER/.well-known/openid-configuration" >/dev/null 2>&1
}

# This clone's providers: marked processes running our server.mjs (the pid file's, and any whose
# pid file was lost).
provider_pids() {
  local pid
  for pid in $(our_pids); do
    { tr '\0' '\n' <"/proc/$pid/cmdline"; } 2>/dev/null | grep -qxF "$SERVER" && echo "$pid"
  done
  return 0
}

# The pid file's process, if it is alive and ours (guards against PID reuse).
oidc_pid() {
  local pid
  [[ -f $OIDC_PID_FILE ]] || return 1
  pid=$(<"$OIDC_PID_FILE")
  [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" && has_marker "$pid" || return 1
  echo "$pid"
}

console_url_of() {
  { tr '\0' '\n' <"/proc/$1/environ"; } 2>/dev/null | sed -n 's/^OIDC_CONSOLE_URL=//p'
}

stop_provider() {
  local pids pid i
  pids=$(provider_pids)
  if [[ -n $pids ]]; then
    # shellcheck disable=SC2086  # one pid a word
    kill -TERM $pids 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      [[ -z $(provider_pids) ]] && break
      sleep 0.1
    done
    for pid in $(provider_pids); do
      kill -KILL "$pid" 2>/dev/null || true
    done
    for ((i = 0; i < 50; i++)); do
      [[ -z $(provider_pids) ]] && break
      sleep 0.1
    done
    [[ -z $(provider_pids) ]] || fail "provider still running after SIGKILL: $(provider_pids | tr '\n' ' ')"
    # Its socket closes with it; wait for that so a start right after finds the port free.
    for ((i = 0; i < 50; i++)); do
      oidc_port_in_use || break
      sleep 0.1
    done
  fi
  rm -f "$OIDC_PID_FILE"
  [[ -n $pids ]]
}

start() {
  local console_url=$1 pid started
  [[ $console_url =~ ^https?://[^/]+ ]] || fail "--console-url must be an http(s) URL, not '$console_url'"
  [[ -d $OIDC_APP_DIR/node_modules/oidc-provider ]] ||
    fail "oidc-provider is not installed in $OIDC_APP_DIR: run infra/local/install.sh"

  if pid=$(oidc_pid) && [[ $(console_url_of "$pid") == "$console_url" ]] && answers; then
    echo "oidc.sh: provider already running (pid $pid) at $OIDC_ISSUER"
    return 0
  fi
  # Another console URL (a new deployment), or not answering: start afresh; keys and users stay,
  # so tokens issued before remain valid.
  stop_provider || true
  if oidc_port_in_use; then
    fail "127.0.0.1:$OIDC_PORT is taken by a process that is not this clone's provider" \
      "(see: ss -ltnp 'sport = :$OIDC_PORT'); stop it first"
  fi

  mkdir -p "$OIDC_DIR"
  chmod 700 "$OIDC_DIR"
  : >"$OIDC_LOG"
  # The marker lets stop.sh's sweep find it; setsid: own session and process group, so the
  # caller's signals do not reach it; the pid file is written by the process that then becomes
  # node (setsid may fork).
  # shellcheck disable=SC2016  # $$ and $@ are for the inner sh
  env ICP_LOCAL_ROOT="$ROOT" \
    OIDC_ISSUER="$OIDC_ISSUER" \
    OIDC_PORT="$OIDC_PORT" \
    OIDC_STATE_DIR="$OIDC_DIR" \
    OIDC_CONSOLE_URL="$console_url" \
    setsid sh -c 'echo $$ >"$0"; exec "$@"' "$OIDC_PID_FILE" node "$SERVER" \
    </dev/null >>"$OIDC_LOG" 2>&1 &

  started=$SECONDS
  until answers; do
    pid=$(cat "$OIDC_PID_FILE" 2>/dev/null || true)
    if [[ -n $pid ]] && ! alive "$pid"; then
      echo "oidc.sh: the provider exited during startup; last lines of $OIDC_LOG:" >&2
      tail -n 30 "$OIDC_LOG" >&2
      rm -f "$OIDC_PID_FILE"
      exit 1
    fi
    if ((SECONDS - started >= OIDC_START_TIMEOUT)); then
      echo "oidc.sh: the provider does not answer after ${OIDC_START_TIMEOUT}s; last lines of $OIDC_LOG:" >&2
      tail -n 30 "$OIDC_LOG" >&2
      stop_provider >/dev/null 2>&1 || true
      exit 1
    fi
    sleep 0.2
  done
  echo "oidc.sh: provider up at $OIDC_ISSUER (pid $(<"$OIDC_PID_FILE"), $((SECONDS - started))s); log: $OIDC_LOG"
}

case ${1:-} in
  start)
    [[ $# -eq 3 && $2 == --console-url ]] || usage
    start "$3"
    ;;
  stop)
    [[ $# -eq 1 ]] || usage
    if stop_provider; then echo "oidc.sh: provider stopped"; else echo "oidc.sh: provider not running"; fi
    ;;
  status)
    [[ $# -eq 1 ]] || usage
    # The pid file's process, or one of ours whose pid file was lost.
    if pid=$(oidc_pid) || pid=$(provider_pids | head -n 1) && [[ -n $pid ]]; then
      if answers; then
        echo "OIDC provider: running (pid $pid) at $OIDC_ISSUER, console $(console_url_of "$pid"); log: $OIDC_LOG"
        exit 0
      fi
      echo "OIDC provider: running (pid $pid) but NOT answering at $OIDC_ISSUER; log: $OIDC_LOG"
      exit 1
    fi
    echo "OIDC provider: not running"
    exit 1
    ;;
  *) usage ;;
esac
