#!/usr/bin/env bash
# stop-app.sh - stop the app of one deployment on this host, and optionally remove its files.
# Used by destroy (SSM document hivemind-stop-app) and by the local cloud's agent. It follows
# install-release.sh's conventions exactly: everything under $HIVEMIND_ROOT (default /), the
# systemd unit hivemind-<id>.service when systemd runs the app, otherwise the supervisor whose
# pid (= process group) is in run/hivemind/<id>.pid. Every process of the app carries
# HIVEMIND_PID_FILE=<that pid file> in its environment, so strays are found too.
#
# usage: stop-app.sh --deployment-id ID [--purge]
#   --purge  also remove the app's releases, env file, logs, pid files and systemd unit
# Output: `HIVEMIND_OK stopped deployment=<id> pids=<pids|none> purged=<yes|no>` or
# `HIVEMIND_ERROR <kind>: <message>` (invalid_argument exit 2, stop_failed exit 21).
set -euo pipefail

readonly ID_RE='^[a-z0-9][a-z0-9-]{0,39}$'
readonly ROOT_RE='^/([A-Za-z0-9_+=@,-][A-Za-z0-9._+=@,-]*/?)*$'

say() { printf '[hivemind] %s\n' "$*"; }

die() {
  local kind="$1" message="$2" code=1
  case "$kind" in invalid_argument) code=2 ;; stop_failed) code=21 ;; esac
  printf 'HIVEMIND_ERROR %s: %s\n' "$kind" "$message"
  exit "$code"
}

DEPLOYMENT_ID="" PURGE=0

parse_args() {
  while (($#)); do
    case "$1" in
      --deployment-id)
        (($# >= 2)) || die invalid_argument "--deployment-id needs a value"
        DEPLOYMENT_ID="$2"
        shift 2
        ;;
      --purge) PURGE=1; shift ;;
      -h | --help) echo "usage: stop-app.sh --deployment-id ID [--purge]"; exit 0 ;;
      *) die invalid_argument "unknown option '${1//[^A-Za-z0-9_-]/?}' (usage: stop-app.sh --deployment-id ID [--purge])" ;;
    esac
  done
  if [[ "$DEPLOYMENT_ID" == *$'\n'* || ! "$DEPLOYMENT_ID" =~ $ID_RE ]]; then
    die invalid_argument "--deployment-id is not valid: expected lowercase letters, digits and '-', at most 40"
  fi
}

setup_environment() {
  ROOT="${HIVEMIND_ROOT:-/}"
  if [[ ! "$ROOT" =~ $ROOT_RE || "$ROOT" == *"/../"* || "$ROOT" == *"/.." ]]; then
    die invalid_argument "HIVEMIND_ROOT must be an absolute path of plain characters without .."
  fi
  P="${ROOT%/}"
  APP_HOME="$P/opt/hivemind/$DEPLOYMENT_ID"
  ENV_FILE="$P/etc/hivemind/$DEPLOYMENT_ID.env"
  LOG_DIR="$P/var/log/hivemind/$DEPLOYMENT_ID"
  RUN_DIR="$P/run/hivemind"
  PID_FILE="$RUN_DIR/$DEPLOYMENT_ID.pid"
  MARKER="HIVEMIND_PID_FILE=$PID_FILE"
  UNIT="hivemind-$DEPLOYMENT_ID"
  PY3=""
  if command -v python3 >/dev/null 2>&1; then
    PY3="$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null || true)"
  fi
  USE_SYSTEMD=0
  if [[ "$P" == "" && -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1 && ((EUID == 0)); then
    USE_SYSTEMD=1
  fi
}

has_marker() { grep -qzxF -- "$MARKER" "/proc/$1/environ" 2>/dev/null; }

# The live (not zombie) processes of this deployment in this root: one python3 pass over /proc
# (a fork per process would take seconds on a busy host).
read -r -d '' MARKED_PY <<'PY' || true
import os, sys
marker = sys.argv[1].encode()
for d in os.listdir("/proc"):
    if not d.isdigit():
        continue
    try:
        with open("/proc/%s/environ" % d, "rb") as f:
            if marker not in f.read().split(b"\0"):
                continue
        if open("/proc/%s/stat" % d).read().rsplit(")", 1)[1].split()[0] != "Z":
            print(d)
    except (OSError, IndexError):
        continue
PY

marked_pids() {
  local pid dir stat
  if [[ -n "$PY3" ]]; then
    "$PY3" -I -S -c "$MARKED_PY" "$MARKER" 2>/dev/null || true
    return
  fi
  for dir in /proc/[0-9]*; do
    pid="${dir#/proc/}"
    has_marker "$pid" || continue
    read -r stat <"$dir/stat" 2>/dev/null || continue
    stat="${stat##*) }"
    [[ "${stat:0:1}" == Z ]] || printf '%s\n' "$pid"
  done
}

# stop_processes: TERM the supervisor's process group and every marked process, wait up to
# 10 s, then KILL what is left. Prints the pids it found.
stop_processes() {
  local pgid="" pids i
  if [[ -f "$PID_FILE" ]]; then
    pgid="$(head -c 20 -- "$PID_FILE" | tr -cd '0-9')"
    [[ -n "$pgid" ]] && has_marker "$pgid" || pgid=""
  fi
  pids="$(marked_pids)"
  STOPPED="${pids//$'\n'/,}"
  [[ -n "$pgid$pids" ]] || return 0
  say "stopping pids ${pids//$'\n'/ }"
  [[ -z "$pgid" ]] || kill -TERM -- "-$pgid" 2>/dev/null || true
  # shellcheck disable=SC2086 # a list of pids
  [[ -z "$pids" ]] || kill -TERM $pids 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    pids="$(marked_pids)"
    [[ -n "$pids" ]] || return 0
    sleep 0.1
  done
  say "still running after 10 s, killing: ${pids//$'\n'/ }"
  # shellcheck disable=SC2086 # a list of pids
  kill -KILL $pids 2>/dev/null || true
  for ((i = 0; i < 30; i++)); do
    [[ -n "$(marked_pids)" ]] || return 0
    sleep 0.1
  done
  die stop_failed "processes of $DEPLOYMENT_ID survived SIGKILL: $(marked_pids | tr '\n' ' ')"
}

stop_unit() {
  ((USE_SYSTEMD)) || return 0
  if systemctl cat "$UNIT" >/dev/null 2>&1; then
    say "stopping $UNIT"
    systemctl disable --now "$UNIT" >/dev/null 2>&1 || systemctl stop "$UNIT" >/dev/null 2>&1 || true
  fi
}

purge() {
  ((PURGE)) || return 0
  say "removing the files of $DEPLOYMENT_ID"
  if ((USE_SYSTEMD)); then
    rm -f -- "/etc/systemd/system/$UNIT.service"
    systemctl daemon-reload || true
  fi
  rm -rf -- "$APP_HOME" "$LOG_DIR"
  rm -f -- "$ENV_FILE" "$PID_FILE" "$RUN_DIR/$DEPLOYMENT_ID".{state,exit,lock,pid.tmp}
}

main() {
  parse_args "$@"
  setup_environment
  STOPPED=""
  stop_unit
  stop_processes
  rm -f -- "$PID_FILE"
  purge
  printf 'HIVEMIND_OK stopped deployment=%s pids=%s purged=%s\n' "$DEPLOYMENT_ID" "${STOPPED:-none}" \
    "$( ((PURGE)) && echo yes || echo no)"
}

main "$@"
