#!/usr/bin/env bash
# harden.sh - harden an instance that runs HiveMind apps and report what it found.
# Run by the SSM document hivemind-harden after install-release.sh, and by the local cloud's agent.
#
# Two modes, chosen from the environment (never from callers of SendCommand):
#   host     HIVEMIND_ROOT is / (the default), systemd runs and we are root - a real instance:
#            sshd disabled, kernel network settings hardened (sysctl), file ownership and modes
#            fixed, IMDSv2 checked (on EC2 only), nothing listening on port 22.
#   sandbox  anything else (the local cloud): only the checks that apply to files under
#            HIVEMIND_ROOT run (env file mode, no world-writable files, the app not on port 22);
#            the host-level checks are reported SKIP with the reason.
#
# usage: harden.sh [--deployment-id ID] [--check-only]
#   --deployment-id  also check that deployment's files (otherwise those checks are SKIP)
#   --check-only     report, change nothing (a finding that would be fixed is a FAIL)
# Output: one line per check, `FINDING <id> <PASS|FAIL|SKIP> <message>`, then
# `HIVEMIND_OK harden pass=N fail=0 skip=N` (exit 0) or
# `HIVEMIND_ERROR hardening_failed: <ids>` (exit 22). Bad arguments: invalid_argument, exit 2.
set -euo pipefail

readonly ID_RE='^[a-z0-9][a-z0-9-]{0,39}$'
readonly ROOT_RE='^/([A-Za-z0-9_+=@,-][A-Za-z0-9._+=@,-]*/?)*$'
readonly APP_USER=hivemind
readonly SYSCTL_FILE=/etc/sysctl.d/90-hivemind.conf
# name=value pairs written to SYSCTL_FILE; rp_filter also accepts 2 (loose) as hardened.
readonly SYSCTLS=(
  net.ipv4.conf.all.rp_filter=1
  net.ipv4.conf.default.rp_filter=1
  net.ipv4.conf.all.accept_redirects=0
  net.ipv4.conf.default.accept_redirects=0
  net.ipv4.conf.all.send_redirects=0
  net.ipv4.conf.all.accept_source_route=0
  net.ipv6.conf.all.accept_redirects=0
  net.ipv4.tcp_syncookies=1
  net.ipv4.icmp_echo_ignore_broadcasts=1
)

PASS=0 FAIL=0 SKIP=0 FAILED=""

die() {
  printf 'HIVEMIND_ERROR %s: %s\n' "$1" "$2"
  exit 2
}

finding() {
  local id="$1" result="$2" message="$3"
  printf 'FINDING %s %s %s\n' "$id" "$result" "$message"
  case "$result" in
    PASS) PASS=$((PASS + 1)) ;;
    FAIL) FAIL=$((FAIL + 1)) FAILED+="${FAILED:+ }$id" ;;
    SKIP) SKIP=$((SKIP + 1)) ;;
  esac
}

DEPLOYMENT_ID="" CHECK_ONLY=0

parse_args() {
  while (($#)); do
    case "$1" in
      --deployment-id)
        (($# >= 2)) || die invalid_argument "--deployment-id needs a value"
        DEPLOYMENT_ID="$2"
        shift 2
        ;;
      --check-only) CHECK_ONLY=1; shift ;;
      -h | --help) echo "usage: harden.sh [--deployment-id ID] [--check-only]"; exit 0 ;;
      *) die invalid_argument "unknown option '${1//[^A-Za-z0-9_-]/?}' (usage: harden.sh [--deployment-id ID] [--check-only])" ;;
    esac
  done
  if [[ -n "$DEPLOYMENT_ID" && ("$DEPLOYMENT_ID" == *$'\n'* || ! "$DEPLOYMENT_ID" =~ $ID_RE) ]]; then
    die invalid_argument "--deployment-id is not valid: expected lowercase letters, digits and '-', at most 40"
  fi
}

setup_environment() {
  ROOT="${HIVEMIND_ROOT:-/}"
  if [[ ! "$ROOT" =~ $ROOT_RE || "$ROOT" == *"/../"* || "$ROOT" == *"/.." ]]; then
    die invalid_argument "HIVEMIND_ROOT must be an absolute path of plain characters without .."
  fi
  P="${ROOT%/}"
  HOST_MODE=0 WHY_SKIP=""
  if [[ -n "$P" ]]; then
    WHY_SKIP="host-level check; this is a sandbox (HIVEMIND_ROOT=$ROOT)"
  elif [[ ! -d /run/systemd/system ]] || ! command -v systemctl >/dev/null 2>&1; then
    WHY_SKIP="host-level check; systemd is not running here, so this is not an instance host"
  elif ((EUID != 0)); then
    WHY_SKIP="host-level check; needs root"
  else
    HOST_MODE=1
  fi
  APP_HOME="$P/opt/hivemind/$DEPLOYMENT_ID"
  ENV_DIR="$P/etc/hivemind"
  ENV_FILE="$ENV_DIR/$DEPLOYMENT_ID.env"
  LOG_DIR="$P/var/log/hivemind/$DEPLOYMENT_ID"
  UNIT="hivemind-$DEPLOYMENT_ID"
}

# fixing: true when the script may change things (not --check-only).
fixing() { ((!CHECK_ONLY)); }

# --- host-level checks ---------------------------------------------------------------------
check_sshd() {
  local unit active=""
  if ((!HOST_MODE)); then
    finding HM-SSH-01 SKIP "$WHY_SKIP"
    return
  fi
  for unit in sshd.service sshd.socket ssh.service ssh.socket; do
    systemctl cat "$unit" >/dev/null 2>&1 || continue
    if fixing; then
      systemctl disable --now "$unit" >/dev/null 2>&1 || true
    fi
    if systemctl is-active --quiet "$unit" || systemctl is-enabled --quiet "$unit" 2>/dev/null; then
      active+="${active:+, }$unit"
    fi
  done
  if [[ -n "$active" ]]; then
    finding HM-SSH-01 FAIL "sshd is enabled or running ($active); use SSM Session Manager instead"
  else
    finding HM-SSH-01 PASS "sshd is not running and not enabled"
  fi
}

check_port_22() {
  local port_file listeners=""
  if ((HOST_MODE)); then
    for port_file in /proc/net/tcp /proc/net/tcp6; do
      [[ -r "$port_file" ]] || continue
      # local_address is HEX_IP:HEX_PORT; state 0A is LISTEN; port 22 is 0016.
      listeners+="$(awk 'NR > 1 && $4 == "0A" && $2 ~ /:0016$/ {print $2}' "$port_file")"
    done
    if [[ -n "$listeners" ]]; then
      finding HM-NET-01 FAIL "something listens on TCP port 22; nothing should (no SSH)"
    else
      finding HM-NET-01 PASS "nothing listens on TCP port 22"
    fi
    return
  fi
  if [[ -z "$DEPLOYMENT_ID" || ! -f "$ENV_FILE" ]]; then
    finding HM-NET-01 SKIP "no deployment env file to check the app's port"
  elif grep -qx 'PORT=22' "$ENV_FILE"; then
    finding HM-NET-01 FAIL "the app is configured to listen on port 22 (SSH's port); choose another port"
  else
    finding HM-NET-01 PASS "the app does not use port 22"
  fi
}

check_sysctl() {
  local pair name want have bad=""
  if ((!HOST_MODE)); then
    finding HM-SYSCTL-01 SKIP "$WHY_SKIP"
    return
  fi
  if fixing; then
    printf '# Written by HiveMind harden.sh\n' >"$SYSCTL_FILE.tmp"
    printf '%s\n' "${SYSCTLS[@]/=/ = }" >>"$SYSCTL_FILE.tmp"
    mv -f -- "$SYSCTL_FILE.tmp" "$SYSCTL_FILE"
    sysctl -q -p "$SYSCTL_FILE" >/dev/null 2>&1 || true
  fi
  for pair in "${SYSCTLS[@]}"; do
    name="${pair%%=*}" want="${pair#*=}"
    have="$(cat "/proc/sys/${name//.//}" 2>/dev/null || echo missing)"
    if [[ "$have" != "$want" && ! ("$name" == *rp_filter && "$have" == 2) ]]; then
      bad+="${bad:+, }$name=$have (want $want)"
    fi
  done
  if [[ -n "$bad" ]]; then
    finding HM-SYSCTL-01 FAIL "kernel network settings not hardened: $bad"
  else
    finding HM-SYSCTL-01 PASS "rp_filter on, ICMP redirects off, source routing off, SYN cookies on"
  fi
}

on_ec2() {
  local f value
  for f in /sys/hypervisor/uuid /sys/devices/virtual/dmi/id/board_asset_tag /sys/devices/virtual/dmi/id/sys_vendor; do
    [[ -r "$f" ]] || continue
    value="$(head -c 64 -- "$f" 2>/dev/null || true)"
    [[ "$value" == ec2* || "$value" == i-* || "$value" == "Amazon EC2"* ]] && return 0
  done
  return 1
}

# IMDSv2: the instance metadata service must refuse a request without a session token.
check_imds() {
  local code
  if ((!HOST_MODE)); then
    finding HM-IMDS-01 SKIP "$WHY_SKIP"
    return
  fi
  if ! on_ec2; then
    finding HM-IMDS-01 SKIP "not an EC2 instance"
    return
  fi
  code="$(curl --noproxy '*' -s -o /dev/null -w '%{http_code}' --connect-timeout 2 --max-time 3 \
    http://169.254.169.254/latest/meta-data/ || true)"
  if [[ "$code" == 200 ]]; then
    finding HM-IMDS-01 FAIL "the metadata service answers without a token: require IMDSv2 (HttpTokens=required)"
  else
    finding HM-IMDS-01 PASS "the metadata service refuses requests without a token (HTTP $code)"
  fi
}

check_app_user() {
  local pid owner
  if ((!HOST_MODE)); then
    finding HM-PROC-01 SKIP "$WHY_SKIP (the sandbox runs the app as the agent's user)"
    return
  fi
  if [[ -z "$DEPLOYMENT_ID" ]]; then
    finding HM-PROC-01 SKIP "no --deployment-id"
    return
  fi
  pid="$(systemctl show "$UNIT" -p MainPID --value 2>/dev/null || echo 0)"
  if [[ -z "$pid" || "$pid" == 0 ]]; then
    finding HM-PROC-01 SKIP "$UNIT is not running"
    return
  fi
  owner="$(stat -c %U "/proc/$pid" 2>/dev/null || echo unknown)"
  if [[ "$owner" == "$APP_USER" ]]; then
    finding HM-PROC-01 PASS "the app runs as the unprivileged user $APP_USER"
  else
    finding HM-PROC-01 FAIL "the app runs as $owner, not $APP_USER"
  fi
}

# --- file checks (host and sandbox) --------------------------------------------------------
check_env_file() {
  local mode owner want_owner
  if [[ -z "$DEPLOYMENT_ID" || ! -f "$ENV_FILE" ]]; then
    finding HM-FILE-01 SKIP "no deployment env file${DEPLOYMENT_ID:+ at $ENV_FILE}"
    return
  fi
  want_owner="$(id -un)"
  ((!HOST_MODE)) || want_owner=root
  mode="$(stat -c %a -- "$ENV_FILE")" owner="$(stat -c %U -- "$ENV_FILE")"
  if [[ "$mode" != 600 || "$owner" != "$want_owner" ]] && fixing; then
    chown "$want_owner" -- "$ENV_FILE"
    chmod 600 -- "$ENV_FILE"
    chmod 700 -- "$ENV_DIR"
    mode="$(stat -c %a -- "$ENV_FILE")" owner="$(stat -c %U -- "$ENV_FILE")"
  fi
  if [[ "$mode" == 600 && "$owner" == "$want_owner" ]]; then
    finding HM-FILE-01 PASS "the env file (it holds DATABASE_URL) is mode 600, owned by $owner"
  else
    finding HM-FILE-01 FAIL "the env file $ENV_FILE is mode $mode owned by $owner; want 600 owned by $want_owner"
  fi
}

check_world_writable() {
  local dirs=() found
  if [[ -z "$DEPLOYMENT_ID" ]]; then
    finding HM-FILE-02 SKIP "no --deployment-id"
    return
  fi
  [[ ! -d "$APP_HOME" ]] || dirs+=("$APP_HOME")
  [[ ! -d "$ENV_DIR" ]] || dirs+=("$ENV_DIR")
  [[ ! -d "$LOG_DIR" ]] || dirs+=("$LOG_DIR")
  if ((${#dirs[@]} == 0)); then
    finding HM-FILE-02 SKIP "the deployment has no files here"
    return
  fi
  found="$(find "${dirs[@]}" -xdev -perm -0002 ! -type l -print 2>/dev/null | head -n 5)"
  if [[ -n "$found" ]] && fixing; then
    find "${dirs[@]}" -xdev -perm -0002 ! -type l -exec chmod o-w {} + 2>/dev/null || true
    found="$(find "${dirs[@]}" -xdev -perm -0002 ! -type l -print 2>/dev/null | head -n 5)"
  fi
  if [[ -n "$found" ]]; then
    finding HM-FILE-02 FAIL "world-writable files: ${found//$'\n'/, }"
  else
    finding HM-FILE-02 PASS "no world-writable file in the app, env or log directories"
  fi
}

check_ownership() {
  local stray
  if ((!HOST_MODE)); then
    finding HM-FILE-03 SKIP "$WHY_SKIP (the sandbox's files belong to the agent's user)"
    return
  fi
  if [[ -z "$DEPLOYMENT_ID" || ! -d "$APP_HOME" ]]; then
    finding HM-FILE-03 SKIP "no deployment files to check"
    return
  fi
  stray="$(find "$APP_HOME" -xdev ! -user "$APP_USER" -print 2>/dev/null | head -n 3)"
  if [[ -n "$stray" ]] && fixing; then
    chown -R "$APP_USER:$APP_USER" -- "$APP_HOME"
    stray="$(find "$APP_HOME" -xdev ! -user "$APP_USER" -print 2>/dev/null | head -n 3)"
  fi
  if [[ -n "$stray" ]]; then
    finding HM-FILE-03 FAIL "files not owned by $APP_USER: ${stray//$'\n'/, }"
  else
    finding HM-FILE-03 PASS "the app directory belongs to $APP_USER"
  fi
}

main() {
  parse_args "$@"
  setup_environment
  check_sshd
  check_port_22
  check_sysctl
  check_imds
  check_app_user
  check_env_file
  check_world_writable
  check_ownership
  if ((FAIL > 0)); then
    printf 'HIVEMIND_ERROR hardening_failed: %s finding(s) failed: %s\n' "$FAIL" "$FAILED"
    exit 22
  fi
  printf 'HIVEMIND_OK harden pass=%s fail=0 skip=%s\n' "$PASS" "$SKIP"
}

main "$@"
