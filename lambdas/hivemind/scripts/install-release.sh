#!/usr/bin/env bash
# install-release.sh - fetch one release of an app, build it, configure it, (re)start it and
# check it answers locally. HiveMind runs it on an instance through the SSM document
# hivemind-install-release (see documents.py beside this file), from user data, and in the local
# cloud's sandboxes. The same file runs unchanged in all three places:
#
#   * Amazon Linux 2023 as root with systemd: the app runs as the unprivileged user `hivemind`
#     under the unit hivemind-<deployment-id>.service (EnvironmentFile, Restart=on-failure).
#   * anywhere else (no systemd, or HIVEMIND_ROOT is not /): the app runs under a small built-in
#     supervisor (restart on failure) in its own session; its pid is in a pid file.
#
# Environment (set by user data or the local agent, never by callers of SendCommand):
#   HIVEMIND_ROOT       every path written is under it (default /)
#   HIVEMIND_BIND_HOST  the address the app should listen on, exported to it as HOST (default 0.0.0.0)
#   HIVEMIND_CACHE_DIR  pip/npm/go caches shared by all deployments (default $ROOT/var/cache/hivemind)
#   AWS_ENDPOINT_URL    only in the local cloud; the aws cli honours it, this script never names one
#
# Arguments: see usage(). Every value is checked against a strict pattern before it is used and
# is always quoted. Build, release and start commands are free text by nature: they must match
# CMD_RE (one command line: no ; & | < > ` ' \ ( ) or newline; $NAME, ${NAME} and
# ${NAME:-default} are allowed) and they run through `bash -c` in the app directory - never
# evaluated in this script's own context. The package manager's install step is done by this
# script, so a build command is only the build itself (e.g. `npm run build`, `go build -o bin/app .`).
#
# The release tarball's root is the repository's root (members ./app.py, ./package.json, ...;
# no wrapping directory); --app-dir is relative to it.
#
# Layout under $HIVEMIND_ROOT:
#   opt/hivemind/<id>/releases/<release>/   unpacked release (+ .hivemind-built marker = tarball sha256)
#   opt/hivemind/<id>/current -> releases/<release>
#   opt/hivemind/<id>/venvs/<key>/          python virtualenvs, shared by releases with the same deps
#   opt/hivemind/<id>/deps/<key>/           node_modules, hard-linked into releases with the same lockfile
#   opt/hivemind/<id>/run.sh                launcher: cd to the app dir, exec the start command
#   etc/hivemind/<id>.env                   PORT, HOST, DATABASE_URL, ... (mode 600)
#   var/log/hivemind/<id>/{app,build}.log
#   run/hivemind/<id>.pid                   supervisor pid (= its process group) when not under systemd
#
# Output: progress lines `[hivemind] ...`; on success the last line is
#   HIVEMIND_OK release=<id> pid=<pid> url=<health url>
# on failure a line `HIVEMIND_ERROR <kind>: <message>`, the last lines of the relevant log, and the
# same HIVEMIND_ERROR line again as the very last line. Kinds and exit codes:
#   invalid_argument 2, fetch_failed 10, dependency_install_failed 11, build_failed 12,
#   secret_failed 13, release_command_failed 14, start_failed 15, app_exited 16,
#   port_in_use 17, port_mismatch 18, bind_mismatch 19, health_check_failed 20
set -euo pipefail

readonly ID_RE='^[a-z0-9][a-z0-9-]{0,39}$'
readonly RELEASE_RE='^r-[0-9]{1,9}$'
readonly URL_RE='^(s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]|file://)(/[A-Za-z0-9_+=@,-][A-Za-z0-9._+=@,-]*)+\.(tar\.gz|tgz)$'
readonly LANG_RE='^(python|node|go)$'
readonly PM_RE='^(pip|poetry|pipenv|uv|pdm|npm|yarn|pnpm|bun|go)$'
readonly APPDIR_RE='^(\.|[A-Za-z0-9_-][A-Za-z0-9._-]*(/[A-Za-z0-9_-][A-Za-z0-9._-]*)*)$'
readonly CMD_RE='^([A-Za-z0-9 _./:=,@+%~"-]|\$[A-Za-z_][A-Za-z0-9_]*|\$\{[A-Za-z_][A-Za-z0-9_]*(:-[A-Za-z0-9._/-]*)?\})+$'
readonly PORT_RE='^[1-9][0-9]{0,4}$'
readonly PATH_RE='^/[A-Za-z0-9/._~%-]{0,200}$'
readonly ARN_RE='^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]{1,512}$'
readonly REGION_RE='^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$'
readonly TIMEOUT_RE='^[1-9][0-9]{0,3}$'
readonly ROOT_RE='^/([A-Za-z0-9_+=@,-][A-Za-z0-9._+=@,-]*/?)*$'
readonly IPV4_RE='^([0-9]{1,3}\.){3}[0-9]{1,3}$'
readonly KEEP_RELEASES=3
readonly LOG_TAIL_LINES=30

# fd 3 is the real stdout: messages still reach it from inside $(...) and it is closed for the app.
exec 3>&1

# --- output ------------------------------------------------------------------------------------
say() { printf '[hivemind] %s\n' "$*" >&3; }

# die KIND MESSAGE [LOGFILE]: the one way this script fails.
die() {
  local kind="$1" message="$2" logfile="${3:-}" code
  case "$kind" in
    invalid_argument) code=2 ;; fetch_failed) code=10 ;; dependency_install_failed) code=11 ;;
    build_failed) code=12 ;; secret_failed) code=13 ;; release_command_failed) code=14 ;;
    start_failed) code=15 ;; app_exited) code=16 ;; port_in_use) code=17 ;;
    port_mismatch) code=18 ;; bind_mismatch) code=19 ;; health_check_failed) code=20 ;;
    *) code=1 ;;
  esac
  # A release that failed after it was started is stopped: nothing is left running half-broken.
  if ((${STARTED:-0})); then
    STARTED=0
    stop_app >/dev/null 2>&1 3>&1 || true
  fi
  {
    printf 'HIVEMIND_ERROR %s: %s\n' "$kind" "$message"
    if [[ -n "$logfile" && -s "$logfile" ]]; then
      printf -- '----- last %s lines of %s -----\n' "$LOG_TAIL_LINES" "$logfile"
      tail -n "$LOG_TAIL_LINES" -- "$logfile" || true
      printf -- '-----\n'
      printf 'HIVEMIND_ERROR %s: %s\n' "$kind" "$message"
    fi
  } >&3
  exit "$code"
}

usage() {
  cat <<'EOF'
usage: install-release.sh --deployment-id ID --release-id r-N --release-url URL
         --language python|node|go --package-manager PM --port N --start-command CMD
         [--app-dir REL] [--build-command CMD] [--release-command CMD] [--health-path /path]
         [--db-secret-arn ARN] [--region REGION] [--health-timeout SECONDS] [--validate-only]
EOF
}

# require NAME VALUE REGEX HINT: fail with invalid_argument unless VALUE matches.
require() {
  local name="$1" value="$2" regex="$3" hint="$4"
  local shown="${value//[^[:print:]]/?}"
  if [[ "$value" == *$'\n'* || ! "$value" =~ $regex ]]; then
    die invalid_argument "--$name is not valid: expected $hint (got '${shown:0:80}')"
  fi
}

# --- arguments -----------------------------------------------------------------------------------
PY3=python3
DEPLOYMENT_ID="" RELEASE_ID="" RELEASE_URL="" LANGUAGE="" PACKAGE_MANAGER="" APP_DIR="."
BUILD_COMMAND="" START_COMMAND="" RELEASE_COMMAND="" PORT="" HEALTH_PATH="/" DB_SECRET_ARN=""
REGION="${AWS_REGION:-${AWS_DEFAULT_REGION:-us-east-1}}" HEALTH_TIMEOUT="60"
# --validate-only (or HIVEMIND_VALIDATE_ONLY=1 from the platform): check and print the arguments, do nothing.
VALIDATE_ONLY=0
[[ "${HIVEMIND_VALIDATE_ONLY:-0}" != 1 ]] || VALIDATE_ONLY=1

parse_args() {
  while (($#)); do
    case "$1" in
      --validate-only) VALIDATE_ONLY=1; shift; continue ;;
      -h | --help) usage; exit 0 ;;
    esac
    if (($# < 2)); then
      die invalid_argument "$1 needs a value (see --help)"
    fi
    case "$1" in
      --deployment-id) DEPLOYMENT_ID="$2" ;;
      --release-id) RELEASE_ID="$2" ;;
      --release-url) RELEASE_URL="$2" ;;
      --language) LANGUAGE="$2" ;;
      --package-manager) PACKAGE_MANAGER="$2" ;;
      --app-dir) APP_DIR="$2" ;;
      --build-command) BUILD_COMMAND="$2" ;;
      --start-command) START_COMMAND="$2" ;;
      --release-command) RELEASE_COMMAND="$2" ;;
      --port) PORT="$2" ;;
      --health-path) HEALTH_PATH="$2" ;;
      --db-secret-arn) DB_SECRET_ARN="$2" ;;
      --region) REGION="$2" ;;
      --health-timeout) HEALTH_TIMEOUT="$2" ;;
      *) die invalid_argument "unknown option '${1//[^A-Za-z0-9_-]/?}' (see --help)" ;;
    esac
    shift 2
  done
}

validate_args() {
  local cmd_hint="one command line of letters, digits, spaces and _ . / : = , @ + % ~ \" - (no ; & | < > \` ' \\ ( ) newline; \$NAME and \${NAME} allowed)"
  require deployment-id "$DEPLOYMENT_ID" "$ID_RE" "lowercase letters, digits and '-', at most 40, e.g. hm-3f9c"
  require release-id "$RELEASE_ID" "$RELEASE_RE" "r-<number>, e.g. r-1"
  require release-url "$RELEASE_URL" "$URL_RE" "s3://bucket/key.tar.gz or file:///absolute/path.tar.gz"
  require language "$LANGUAGE" "$LANG_RE" "python, node or go"
  require package-manager "$PACKAGE_MANAGER" "$PM_RE" "pip, poetry, pipenv, uv, pdm, npm, yarn, pnpm, bun or go"
  require app-dir "$APP_DIR" "$APPDIR_RE" "a relative directory inside the release such as . or services/web (no ..)"
  require start-command "$START_COMMAND" "$CMD_RE" "$cmd_hint"
  [[ -z "$BUILD_COMMAND" ]] || require build-command "$BUILD_COMMAND" "$CMD_RE" "$cmd_hint"
  [[ -z "$RELEASE_COMMAND" ]] || require release-command "$RELEASE_COMMAND" "$CMD_RE" "$cmd_hint"
  require port "$PORT" "$PORT_RE" "a TCP port number 1-65535"
  ((PORT <= 65535)) || die invalid_argument "--port is not valid: expected a TCP port number 1-65535"
  require health-path "$HEALTH_PATH" "$PATH_RE" "an absolute URL path such as /health"
  [[ -z "$DB_SECRET_ARN" ]] || require db-secret-arn "$DB_SECRET_ARN" "$ARN_RE" "a Secrets Manager secret ARN"
  require region "$REGION" "$REGION_RE" "an AWS region such as us-east-1"
  require health-timeout "$HEALTH_TIMEOUT" "$TIMEOUT_RE" "seconds, 1-9999"
  ((${#START_COMMAND} <= 1000 && ${#BUILD_COMMAND} <= 1000 && ${#RELEASE_COMMAND} <= 1000)) ||
    die invalid_argument "a command is longer than 1000 characters"
  case "$LANGUAGE/$PACKAGE_MANAGER" in
    python/pip | python/poetry | python/pipenv | python/uv | python/pdm) ;;
    node/npm | node/yarn | node/pnpm | node/bun | go/go) ;;
    *) die invalid_argument "--package-manager $PACKAGE_MANAGER does not build --language $LANGUAGE" ;;
  esac
}

# The environment this script trusts (it is set by the platform, not by command callers).
setup_environment() {
  ROOT="${HIVEMIND_ROOT:-/}"
  if [[ ! "$ROOT" =~ $ROOT_RE || "$ROOT" == *"/../"* || "$ROOT" == *"/.." ]]; then
    die invalid_argument "HIVEMIND_ROOT must be an absolute path of plain characters without .."
  fi
  P="${ROOT%/}"
  BIND_HOST="${HIVEMIND_BIND_HOST:-0.0.0.0}"
  [[ "$BIND_HOST" =~ $IPV4_RE ]] || die invalid_argument "HIVEMIND_BIND_HOST must be an IPv4 address"
  CHECK_HOST="$BIND_HOST"
  [[ "$BIND_HOST" != "0.0.0.0" ]] || CHECK_HOST="127.0.0.1"
  CACHE_DIR="${HIVEMIND_CACHE_DIR:-$P/var/cache/hivemind}"
  [[ "$CACHE_DIR" =~ $ROOT_RE ]] || die invalid_argument "HIVEMIND_CACHE_DIR must be an absolute path"

  APP_HOME="$P/opt/hivemind/$DEPLOYMENT_ID"
  RELEASE_DIR="$APP_HOME/releases/$RELEASE_ID"
  APP="$RELEASE_DIR"
  [[ "$APP_DIR" == "." ]] || APP="$RELEASE_DIR/$APP_DIR"
  CURRENT_APP="$APP_HOME/current"
  [[ "$APP_DIR" == "." ]] || CURRENT_APP="$APP_HOME/current/$APP_DIR"
  ENV_FILE="$P/etc/hivemind/$DEPLOYMENT_ID.env"
  LOG_DIR="$P/var/log/hivemind/$DEPLOYMENT_ID"
  APP_LOG="$LOG_DIR/app.log"
  BUILD_LOG="$LOG_DIR/build.log"
  RUN_DIR="$P/run/hivemind"
  PID_FILE="$RUN_DIR/$DEPLOYMENT_ID.pid"
  STATE_FILE="$RUN_DIR/$DEPLOYMENT_ID.state"
  EXIT_FILE="$RUN_DIR/$DEPLOYMENT_ID.exit"
  LAUNCHER="$APP_HOME/run.sh"
  UNIT="hivemind-$DEPLOYMENT_ID"
  HEALTH_URL="http://$CHECK_HOST:$PORT$HEALTH_PATH"
  # Every process of the app carries this variable: stop finds strays by it, and it tells two
  # sandboxes of one deployment apart.
  MARKER="HIVEMIND_PID_FILE=$PID_FILE"

  USE_SYSTEMD=0 APP_USER=""
  if [[ "$P" == "" && -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1 && ((EUID == 0)); then
    USE_SYSTEMD=1 APP_USER="hivemind"
  fi
  export AWS_DEFAULT_REGION="$REGION" AWS_PAGER=""
  export PIP_CACHE_DIR="$CACHE_DIR/pip" PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
  export npm_config_cache="$CACHE_DIR/npm" npm_config_update_notifier=false npm_config_fund=false
  export npm_config_audit=false COREPACK_HOME="$CACHE_DIR/corepack" COREPACK_ENABLE_DOWNLOAD_PROMPT=0
  export GOCACHE="$CACHE_DIR/go-build" GOMODCACHE="$CACHE_DIR/go-mod" GOPATH="$CACHE_DIR/go"
  export PYTHONDONTWRITEBYTECODE=1
  # SSM may run us without HOME; npm and pip want one.
  [[ -n "${HOME:-}" ]] || export HOME="$CACHE_DIR/home"
}

# --- helpers -------------------------------------------------------------------------------------
run_as_app() {
  if [[ -n "$APP_USER" ]]; then
    runuser -u "$APP_USER" -- "$@"
  else
    "$@"
  fi
}

ensure_app_user() {
  [[ -n "$APP_USER" ]] || return 0
  if ! id -u "$APP_USER" >/dev/null 2>&1; then
    say "creating the system user $APP_USER"
    useradd --system --create-home --home-dir /var/lib/hivemind --shell /sbin/nologin "$APP_USER"
  fi
}

sha256_of() { sha256sum -- "$1" | cut -d' ' -f1; }

# hash_files FILE...: one sha256 over the names and contents of the files that exist.
hash_files() {
  local f
  {
    for f in "$@"; do
      [[ -f "$f" ]] || continue
      printf '%s\n' "${f##*/}"
      cat -- "$f"
    done
  } | sha256sum | cut -c1-16
}

# Runs in the app dir as the app user; output goes to the build log.
run_in_app() {
  (cd -- "$APP" && run_as_app "$@") </dev/null >>"$BUILD_LOG" 2>&1 3>&- 9>&-
}

# A tiny probe of /proc, in python3 because AL2023 and every build host have it (one process
# instead of a fork per /proc entry). Modes:
#   verdict HOST PORT PID...  -> "ok|none|port_mismatch|bind_mismatch <addr:port ...>" for the
#                                listening TCP sockets held by PID and its descendants
#   holders HOST PORT         -> the listening sockets that would clash with HOST:PORT
#   marked NAME=VALUE         -> the live (not zombie) pids whose environment holds NAME=VALUE
read -r -d '' PROBE_PY <<'PY' || true
import os, socket, sys

WILD = {"0.0.0.0", "::"}

def decode(hexaddr):
    raw = bytes.fromhex(hexaddr)
    if len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, raw[::-1])
    words = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
    addr = socket.inet_ntop(socket.AF_INET6, words)
    return addr[7:] if addr.startswith("::ffff:") and "." in addr else addr

def listening():
    out = []
    for name in ("tcp", "tcp6"):
        try:
            lines = open("/proc/net/" + name).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if len(f) > 9 and f[3] == "0A":
                host, port = f[1].split(":")
                out.append((decode(host), int(port, 16), f[9]))
    return out

def tree(roots):
    children = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                ppid = int(open("/proc/%s/stat" % d).read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d))
    seen, todo = set(), [r for r in roots if r > 0]
    while todo:
        p = todo.pop()
        if p not in seen:
            seen.add(p)
            todo.extend(children.get(p, []))
    return seen

def inodes(pids):
    found = set()
    for p in pids:
        try:
            for fd in os.listdir("/proc/%d/fd" % p):
                try:
                    link = os.readlink("/proc/%d/fd/%s" % (p, fd))
                except OSError:
                    continue
                if link.startswith("socket:["):
                    found.add(link[8:-1])
        except OSError:
            continue
    return found

def clashes(host, port, addr, lport):
    return lport == port and (host in WILD or addr in WILD or addr == host)

def marked(marker):
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

def main(argv):
    if argv[0] == "marked":
        marked(argv[1].encode())
        return
    mode, host, port = argv[0], argv[1], int(argv[2])
    socks = listening()
    if mode == "holders":
        print(" ".join("%s:%d" % (a, p) for a, p, _ in socks if clashes(host, port, a, p)))
        return
    mine = inodes(tree(int(x) for x in argv[3:]))
    held = sorted({(a, p) for a, p, ino in socks if ino in mine})
    text = " ".join("%s:%d" % ap for ap in held)
    if not held:
        print("none")
    elif any(p == port and (a in WILD or a == host or (host in WILD and not a.startswith("127.") and a != "::1"))
             for a, p in held):
        print("ok " + text)
    elif any(p == port for _, p in held):
        print("bind_mismatch " + text)
    else:
        print("port_mismatch " + text)

main(sys.argv[1:])
PY

probe() { "$PY3" -I -S -c "$PROBE_PY" "$@" 2>/dev/null || echo "none"; }

# --- 1. fetch and unpack ---------------------------------------------------------------------
prepare_dirs() {
  mkdir -p -- "$APP_HOME/releases" "$APP_HOME/venvs" "$APP_HOME/deps" "$LOG_DIR" "$RUN_DIR" \
    "$P/etc/hivemind" "$CACHE_DIR"
  chmod 700 "$P/etc/hivemind"
  if [[ -n "$APP_USER" ]]; then
    chown "$APP_USER:$APP_USER" "$APP_HOME" "$APP_HOME/releases" "$APP_HOME/venvs" "$APP_HOME/deps" \
      "$LOG_DIR" "$CACHE_DIR"
  fi
  : >"$BUILD_LOG"
}

fetch_release() {
  TARBALL="$APP_HOME/releases/.$RELEASE_ID.tar.gz"
  rm -f -- "$TARBALL"
  say "fetching $RELEASE_ID from ${RELEASE_URL%%://*}://..."
  case "$RELEASE_URL" in
    s3://*)
      aws s3 cp --only-show-errors --region "$REGION" "$RELEASE_URL" "$TARBALL" >>"$BUILD_LOG" 2>&1 ||
        die fetch_failed "could not download $RELEASE_URL (check the instance role can s3:GetObject it)" "$BUILD_LOG"
      ;;
    file://*)
      cp -- "${RELEASE_URL#file://}" "$TARBALL" 2>>"$BUILD_LOG" ||
        die fetch_failed "could not read ${RELEASE_URL#file://}" "$BUILD_LOG"
      ;;
  esac
  gzip -t -- "$TARBALL" 2>>"$BUILD_LOG" || die fetch_failed "$RELEASE_URL is not a gzip tarball" "$BUILD_LOG"
  RELEASE_SHA="$(sha256_of "$TARBALL")"
}

# Skips unpack and build when this release dir was already built from the same tarball.
already_built() {
  [[ -f "$RELEASE_DIR/.hivemind-built" && "$(cat -- "$RELEASE_DIR/.hivemind-built")" == "$RELEASE_SHA" ]]
}

unpack_release() {
  rm -rf -- "$RELEASE_DIR"
  mkdir -p -- "$RELEASE_DIR"
  tar -xzf "$TARBALL" -C "$RELEASE_DIR" --no-same-owner >>"$BUILD_LOG" 2>&1 ||
    die fetch_failed "could not unpack $RELEASE_ID" "$BUILD_LOG"
  [[ -d "$APP" ]] || die build_failed "the app directory '$APP_DIR' is not in release $RELEASE_ID"
  [[ -z "$APP_USER" ]] || chown -R "$APP_USER:$APP_USER" "$RELEASE_DIR"
}

# --- 2. build -----------------------------------------------------------------------------------
pick_python() {
  local want=""
  [[ ! -f "$APP/.python-version" ]] || want="$(head -n1 -- "$APP/.python-version" | tr -d '[:space:]')"
  if [[ "$want" =~ ^3\.[0-9]{1,2} ]] && command -v "python${BASH_REMATCH[0]}" >/dev/null 2>&1; then
    echo "python${BASH_REMATCH[0]}"
  elif command -v python3 >/dev/null 2>&1; then
    echo python3
  else
    die dependency_install_failed "python3 is not installed on this instance"
  fi
}

# tool_bin NAME PYTHON: a python tool (poetry, pipenv, uv, pdm) in its own cached virtualenv.
tool_bin() {
  local name="$1" py="$2" venv="$CACHE_DIR/tools/$1"
  if [[ ! -x "$venv/bin/$name" ]]; then
    say "installing $name"
    if ! { run_as_app "$py" -m venv "$venv" && run_as_app "$venv/bin/pip" install --quiet "$name"; } >>"$BUILD_LOG" 2>&1; then
      printf '[hivemind] could not install %s\n' "$name" >>"$BUILD_LOG"
      return 1
    fi
  fi
  echo "$venv/bin/$name"
}

python_install_deps() {
  local venv="$1" py="$2" tool
  export VIRTUAL_ENV="$venv"
  local pip=("$venv/bin/pip" install --quiet)
  case "$PACKAGE_MANAGER" in
    pip)
      if [[ -f "$APP/requirements.txt" ]]; then
        run_in_app "${pip[@]}" -r requirements.txt
      elif [[ -f "$APP/pyproject.toml" || -f "$APP/setup.py" ]]; then
        run_in_app "${pip[@]}" .
      fi
      ;;
    uv)
      tool="$(tool_bin uv "$py")" || return 1
      if [[ -f "$APP/uv.lock" ]]; then
        UV_PROJECT_ENVIRONMENT="$venv" run_in_app "$tool" sync --frozen --no-dev
      elif [[ -f "$APP/requirements.txt" ]]; then
        run_in_app "$tool" pip install --python "$venv/bin/python" -r requirements.txt
      else
        run_in_app "$tool" pip install --python "$venv/bin/python" .
      fi
      ;;
    poetry)
      tool="$(tool_bin poetry "$py")" || return 1
      POETRY_VIRTUALENVS_CREATE=false run_in_app env PATH="$venv/bin:$PATH" "$tool" install --only main --no-root --no-interaction
      ;;
    pipenv)
      tool="$(tool_bin pipenv "$py")" || return 1
      if [[ -f "$APP/Pipfile.lock" ]]; then
        PIPENV_VERBOSITY=-1 run_in_app env PATH="$venv/bin:$PATH" "$tool" install --deploy
      else
        PIPENV_VERBOSITY=-1 run_in_app env PATH="$venv/bin:$PATH" "$tool" install
      fi
      ;;
    pdm)
      tool="$(tool_bin pdm "$py")" || return 1
      if [[ -f "$APP/pdm.lock" ]]; then
        run_in_app "$tool" export --prod --without-hashes -o "$venv/requirements.lock" &&
          run_in_app "${pip[@]}" -r "$venv/requirements.lock"
      else
        run_in_app "${pip[@]}" .
      fi
      ;;
  esac
}

build_python() {
  local py pyver key venv
  if already_built && [[ -L "$APP/.venv" && -f "$APP/.venv/.hivemind-ok" ]]; then
    venv="$(readlink -- "$APP/.venv")"
  else
    py="$(pick_python)"
    # One call resolves the interpreter (past any version-manager shim) and its version.
    read -r py pyver < <("$py" -I -S -c 'import sys; print(sys.executable, "%d.%d" % sys.version_info[:2])') ||
      die dependency_install_failed "$py does not run"
    # Releases whose dependency files are equal share one virtualenv (fast redeploys). A project
    # that installs itself (pyproject without requirements, or local paths in requirements)
    # gets one per release, since the venv then holds this release's code.
    key="$PACKAGE_MANAGER-$pyver-$(hash_files \
      "$APP/requirements.txt" "$APP/pyproject.toml" "$APP/poetry.lock" "$APP/Pipfile" "$APP/Pipfile.lock" \
      "$APP/uv.lock" "$APP/pdm.lock" "$APP/setup.py" "$APP/setup.cfg")"
    if [[ ! -f "$APP/requirements.txt" && "$PACKAGE_MANAGER" == pip ]] ||
      { [[ -f "$APP/requirements.txt" ]] && grep -Eq '^[[:space:]]*(-e|\.|file:)' "$APP/requirements.txt"; }; then
      key="$key-$RELEASE_ID-${RELEASE_SHA:0:12}"
    fi
    venv="$APP_HOME/venvs/$key"
    if [[ -f "$venv/.hivemind-ok" ]]; then
      say "dependencies unchanged: reusing virtualenv $key"
    else
      say "installing python dependencies with $PACKAGE_MANAGER"
      rm -rf -- "$venv"
      run_as_app "$py" -m venv "$venv" </dev/null >>"$BUILD_LOG" 2>&1 ||
        die dependency_install_failed "could not create a virtualenv with $py" "$BUILD_LOG"
      python_install_deps "$venv" "$py" ||
        die dependency_install_failed "$PACKAGE_MANAGER could not install the dependencies of $RELEASE_ID" "$BUILD_LOG"
      touch -- "$venv/.hivemind-ok"
    fi
    rm -rf -- "$APP/.venv"
    ln -s -- "$venv" "$APP/.venv"
  fi
  printf '%s\n' "$venv" >"$RELEASE_DIR/.hivemind-deps"
  APP_PATH="$CURRENT_APP/.venv/bin"
  BUILD_PATH="$venv/bin"
  EXTRA_ENV=("VIRTUAL_ENV=$CURRENT_APP/.venv" "PYTHONUNBUFFERED=1")
}

node_install_deps() {
  case "$PACKAGE_MANAGER" in
    npm)
      if [[ -f "$APP/package-lock.json" || -f "$APP/npm-shrinkwrap.json" ]]; then
        run_in_app npm ci --no-audit --no-fund
      else
        run_in_app npm install --no-audit --no-fund
      fi
      ;;
    yarn | pnpm)
      if ! command -v corepack >/dev/null 2>&1; then
        printf '[hivemind] %s needs corepack (Node.js 16.9 or newer) on the instance\n' "$PACKAGE_MANAGER" >>"$BUILD_LOG"
        return 1
      fi
      if [[ -f "$APP/yarn.lock" || -f "$APP/pnpm-lock.yaml" ]]; then
        run_in_app corepack "$PACKAGE_MANAGER" install --frozen-lockfile
      else
        run_in_app corepack "$PACKAGE_MANAGER" install
      fi
      ;;
    bun)
      if ! command -v bun >/dev/null 2>&1; then
        printf '[hivemind] bun is not installed on the instance\n' >>"$BUILD_LOG"
        return 1
      fi
      run_in_app bun install --frozen-lockfile
      ;;
  esac
}

# node_modules of releases with the same manifest and lockfile are hard-linked from one copy.
build_node() {
  local key cache
  command -v node >/dev/null 2>&1 || die dependency_install_failed "node is not installed on this instance"
  key="$PACKAGE_MANAGER-$(node --version)-$(hash_files "$APP/package.json" "$APP/package-lock.json" \
    "$APP/npm-shrinkwrap.json" "$APP/yarn.lock" "$APP/pnpm-lock.yaml" "$APP/bun.lockb" "$APP/bun.lock")"
  cache="$APP_HOME/deps/$key"
  if already_built && [[ -d "$APP/node_modules" || ! -d "$cache" ]]; then
    : # built before: node_modules is in place (or the app has no dependencies)
  elif [[ -f "$cache/.hivemind-ok" ]]; then
    say "dependencies unchanged: reusing node_modules $key"
    rm -rf -- "$APP/node_modules"
    cp -al -- "$cache/node_modules" "$APP/node_modules" 2>/dev/null || cp -a -- "$cache/node_modules" "$APP/node_modules"
  else
    say "installing node dependencies with $PACKAGE_MANAGER"
    rm -rf -- "$APP/node_modules"
    node_install_deps || die dependency_install_failed "$PACKAGE_MANAGER could not install the dependencies of $RELEASE_ID" "$BUILD_LOG"
    if [[ -d "$APP/node_modules" ]]; then
      rm -rf -- "$cache" "$cache.tmp"
      mkdir -p -- "$cache.tmp"
      cp -al -- "$APP/node_modules" "$cache.tmp/node_modules" 2>/dev/null || cp -a -- "$APP/node_modules" "$cache.tmp/node_modules"
      touch -- "$cache.tmp/.hivemind-ok"
      mv -- "$cache.tmp" "$cache"
    fi
  fi
  printf '%s\n' "$cache" >"$RELEASE_DIR/.hivemind-deps"
  APP_PATH="$CURRENT_APP/node_modules/.bin"
  BUILD_PATH="$APP/node_modules/.bin"
  EXTRA_ENV=("NODE_ENV=production")
}

build_go() {
  command -v go >/dev/null 2>&1 || die build_failed "go is not installed on this instance"
  run_as_app mkdir -p -- "$GOCACHE" "$GOMODCACHE"
  APP_PATH="$CURRENT_APP/bin"
  BUILD_PATH="$APP/bin"
  EXTRA_ENV=()
}

# Installs the dependencies, then runs the build command (once per release and tarball).
build_release() {
  APP_PATH="" BUILD_PATH="" EXTRA_ENV=()
  case "$LANGUAGE" in
    python) build_python ;;
    node) build_node ;;
    go) build_go ;;
  esac
  if already_built; then
    return 0
  fi
  if [[ -n "$BUILD_COMMAND" ]]; then
    say "building: $BUILD_COMMAND"
    PATH="$BUILD_PATH:$PATH" run_in_app bash -c "$BUILD_COMMAND" ||
      die build_failed "the build command failed: $BUILD_COMMAND" "$BUILD_LOG"
  fi
  printf '%s\n' "$RELEASE_SHA" >"$RELEASE_DIR/.hivemind-built"
}

# --- 4. configuration ------------------------------------------------------------------------
# Prints DATABASE_URL built from the secret on stdout (captured, never shown).
database_url() {
  local secret
  secret="$(aws secretsmanager get-secret-value --region "$REGION" --secret-id "$DB_SECRET_ARN" \
    --query SecretString --output text 2>>"$BUILD_LOG")" ||
    die secret_failed "could not read the database secret (check the instance role may secretsmanager:GetSecretValue it)" "$BUILD_LOG"
  # shellcheck disable=SC2016 # python source, not shell
  printf '%s' "$secret" | python3 -c '
import json, sys
from urllib.parse import quote
try:
    s = json.loads(sys.stdin.read())
    missing = [k for k in ("username", "password", "host") if not s.get(k)]
except ValueError:
    sys.exit("the database secret is not JSON")
if missing:
    sys.exit("the database secret has no " + ", ".join(missing))
scheme = {"mysql": "mysql", "mariadb": "mysql"}.get(str(s.get("engine", "postgres")).lower(), "postgresql")
print("%s://%s:%s@%s:%s/%s" % (scheme, quote(str(s["username"]), safe=""), quote(str(s["password"]), safe=""),
      s["host"], int(s.get("port") or (3306 if scheme == "mysql" else 5432)), quote(str(s.get("dbname") or "postgres"), safe="")))
' 2>>"$BUILD_LOG" || die secret_failed "the database secret is not usable" "$BUILD_LOG"
}

write_env_file() {
  local tmp db_url="" item
  if [[ -n "$DB_SECRET_ARN" ]]; then
    say "reading the database secret"
    db_url="$(database_url)"
  fi
  tmp="$ENV_FILE.tmp.$$"
  (
    umask 077
    {
      printf 'PORT=%s\nHOST=%s\n' "$PORT" "$BIND_HOST"
      printf 'HIVEMIND_DEPLOYMENT_ID=%s\nHIVEMIND_RELEASE=%s\n' "$DEPLOYMENT_ID" "$RELEASE_ID"
      [[ -z "$db_url" ]] || printf 'DATABASE_URL=%s\n' "$db_url"
      for item in "${EXTRA_ENV[@]}"; do printf '%s\n' "$item"; done
      printf 'PATH=%s\n' "${APP_PATH:+$APP_PATH:}$PATH"
    } >"$tmp"
  )
  chmod 600 "$tmp"
  mv -f -- "$tmp" "$ENV_FILE"
}

# --- 3. release command (after the env file: migrations need DATABASE_URL) -------------------
run_release_command() {
  [[ -n "$RELEASE_COMMAND" ]] || return 0
  say "running the release command: $RELEASE_COMMAND"
  (
    load_env_file "$ENV_FILE"
    PATH="$BUILD_PATH:$PATH" run_in_app bash -c "$RELEASE_COMMAND"
  ) || die release_command_failed "the release command failed: $RELEASE_COMMAND" "$BUILD_LOG"
}

# load_env_file FILE: export KEY=VALUE lines without evaluating them.
load_env_file() {
  local line
  while IFS= read -r line || [[ -n "$line" ]]; do
    [[ "$line" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] && export "${line%%=*}=${line#*=}"
  done <"$1"
}

# --- 5. start ------------------------------------------------------------------------------------
write_launcher() {
  local tmp="$LAUNCHER.tmp.$$"
  {
    printf '#!/usr/bin/env bash\n# Written by install-release.sh for %s: start the current release.\n' "$DEPLOYMENT_ID"
    printf 'cd -- %q || exit 1\n' "$CURRENT_APP"
    printf 'exec bash -c %q\n' "$START_COMMAND"
  } >"$tmp"
  chmod 755 "$tmp"
  mv -f -- "$tmp" "$LAUNCHER"
}

switch_current() {
  ln -sfn -- "releases/$RELEASE_ID" "$APP_HOME/current.tmp.$$"
  mv -fT -- "$APP_HOME/current.tmp.$$" "$APP_HOME/current"
}

# The built-in supervisor (no systemd): restarts the app when it fails, like Restart=on-failure.
# It runs in its own session, so its pid is the process group of everything the app starts.
hm_supervise() {
  local env_file="$1" launcher="$2" pid_file="$3" exit_file="$4" line child="" rc restarts=0 delay=1 stopping=0
  set +e
  printf '%s\n' "$$" >"$pid_file.tmp" && mv -f "$pid_file.tmp" "$pid_file"
  while IFS= read -r line || [[ -n "$line" ]]; do
    [[ "$line" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] && export "${line%%=*}=${line#*=}"
  done <"$env_file"
  trap 'stopping=1; [[ -z "$child" ]] || kill -TERM "$child" 2>/dev/null' TERM INT
  while ((!stopping)); do
    bash "$launcher" &
    child=$!
    wait "$child"
    rc=$?
    while kill -0 "$child" 2>/dev/null; do
      wait "$child"
      rc=$?
    done
    ((!stopping)) || break
    if ((rc == 0)); then
      printf '[hivemind-supervisor] the app exited with status 0; not restarting\n'
      printf '%s %s\n' "$restarts" 0 >"$exit_file"
      break
    fi
    restarts=$((restarts + 1))
    printf '%s %s\n' "$restarts" "$rc" >"$exit_file"
    printf '[hivemind-supervisor] the app exited with status %s; restart %s in %ss\n' "$rc" "$restarts" "$delay"
    sleep "$delay" &
    wait $! || true
    delay=$((delay < 30 ? delay * 2 : 30))
  done
  exit 0
}

# has_marker PID: the process belongs to this deployment in this root (see MARKER).
has_marker() { grep -qzxF -- "$MARKER" "/proc/$1/environ" 2>/dev/null; }

# The live (not zombie) processes that carry MARKER: the supervisor, the app and its children.
marked_pids() { "$PY3" -I -S -c "$PROBE_PY" marked "$MARKER" 2>/dev/null || true; }

# The supervisor's pid, if it is alive and really ours (guards against pid reuse).
supervisor_pid() {
  local pid
  [[ -f "$PID_FILE" ]] || return 1
  pid="$(head -c 20 -- "$PID_FILE" | tr -cd '0-9')"
  [[ -n "$pid" ]] && has_marker "$pid" || return 1
  echo "$pid"
}

# Stops the supervisor's process group and any stray process of this deployment: TERM, up to
# 10 s to exit, then KILL.
stop_supervised() {
  local pid pids i
  pid="$(supervisor_pid)" || pid=""
  pids="$(marked_pids)"
  if [[ -n "$pid$pids" ]]; then
    say "stopping the running app (pids ${pids//$'\n'/ })"
    [[ -z "$pid" ]] || kill -TERM -- "-$pid" 2>/dev/null || true
    # shellcheck disable=SC2086 # a list of pids
    [[ -z "$pids" ]] || kill -TERM $pids 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
      pids="$(marked_pids)"
      [[ -n "$pids" ]] || break
      sleep 0.1
    done
    # shellcheck disable=SC2086 # a list of pids
    [[ -z "$pids" ]] || kill -KILL $pids 2>/dev/null || true
    for ((i = 0; i < 20; i++)); do
      [[ -n "$(marked_pids)" ]] || break
      sleep 0.1
    done
  fi
  rm -f -- "$PID_FILE"
}

start_supervised() {
  local i
  rm -f -- "$EXIT_FILE" "$PID_FILE"
  printf '[hivemind] %s starting %s\n' "$(date -u +%FT%TZ)" "$RELEASE_ID" >>"$APP_LOG"
  # A clean environment, as systemd would give: the app sees the env file, not this script's
  # variables (caches, credentials, endpoints).
  env -i PATH="$PATH" HOME="$HOME" LANG="${LANG:-C.UTF-8}" TZ="${TZ:-UTC}" "$MARKER" \
    setsid bash -c "$(declare -f hm_supervise); hm_supervise \"\$@\"" hivemind-supervisor \
    "$ENV_FILE" "$LAUNCHER" "$PID_FILE" "$EXIT_FILE" </dev/null >>"$APP_LOG" 2>&1 3>&- 9>&- &
  for ((i = 0; i < 200; i++)); do
    if APP_PID="$(supervisor_pid)"; then
      return 0
    fi
    sleep 0.05
  done
  die start_failed "the supervisor did not start" "$APP_LOG"
}

write_unit() {
  local unit_file="/etc/systemd/system/$UNIT.service" tmp
  tmp="$unit_file.tmp.$$"
  cat >"$tmp" <<UNIT
# Written by HiveMind install-release.sh for deployment $DEPLOYMENT_ID.
[Unit]
Description=HiveMind app $DEPLOYMENT_ID
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
User=$APP_USER
Group=$APP_USER
EnvironmentFile=$ENV_FILE
Environment=$MARKER
ExecStart=/bin/bash $LAUNCHER
Restart=on-failure
RestartSec=2
KillMode=control-group
TimeoutStopSec=15
NoNewPrivileges=true
PrivateTmp=true
ProtectSystem=full
StandardOutput=append:$APP_LOG
StandardError=append:$APP_LOG

[Install]
WantedBy=multi-user.target
UNIT
  mv -f -- "$tmp" "$unit_file"
  systemctl daemon-reload
  systemctl enable "$UNIT" >/dev/null 2>&1 || true
}

unit_value() { systemctl show "$UNIT" -p "$1" --value 2>/dev/null || true; }

start_systemd() {
  write_unit
  touch -- "$APP_LOG"
  chown "$APP_USER:$APP_USER" "$APP_LOG"
  NRESTARTS_BEFORE="$(unit_value NRestarts)"
  systemctl restart "$UNIT" </dev/null >>"$BUILD_LOG" 2>&1 3>&- 9>&- ||
    die start_failed "systemctl restart $UNIT failed" "$BUILD_LOG"
  APP_PID="$(unit_value MainPID)"
}

# Is the app still up? Sets EXIT_REASON when it is not.
app_alive() {
  local state sub restarts
  if ((USE_SYSTEMD)); then
    state="$(unit_value ActiveState)" sub="$(unit_value SubState)" restarts="$(unit_value NRestarts)"
    if [[ "$state" == failed || "$state" == inactive || "$sub" == auto-restart ||
      ("$restarts" != "$NRESTARTS_BEFORE" && "${restarts:-0}" != 0) ]]; then
      EXIT_REASON="the app exited (status $(unit_value ExecMainStatus)); systemd state $state/$sub"
      return 1
    fi
    APP_PID="$(unit_value MainPID)"
    return 0
  fi
  if [[ -s "$EXIT_FILE" ]]; then
    EXIT_REASON="the app exited with status $(cut -d' ' -f2 "$EXIT_FILE") shortly after it started"
    return 1
  fi
  if ! supervisor_pid >/dev/null; then
    EXIT_REASON="the app's supervisor is gone"
    return 1
  fi
  return 0
}

# Is this exact release and configuration already running? (a retried deploy keeps it)
running_with_state() {
  local state="$1"
  [[ -f "$STATE_FILE" && "$(cat -- "$STATE_FILE")" == "$state" ]] || return 1
  if ((USE_SYSTEMD)); then
    systemctl is-active --quiet "$UNIT" || return 1
    NRESTARTS_BEFORE="$(unit_value NRestarts)"
    APP_PID="$(unit_value MainPID)"
  else
    [[ ! -s "$EXIT_FILE" ]] && APP_PID="$(supervisor_pid)" || return 1
  fi
}

stop_app() {
  if ((USE_SYSTEMD)); then
    systemctl stop "$UNIT" >/dev/null 2>&1 || true
  else
    stop_supervised
  fi
}

# --- 6. local health check ------------------------------------------------------------------
# Polls the health URL until it answers 2xx/3xx *from this app's own socket*. Stops early when
# the app exits, or when it has been listening for 3 s on another port or an unreachable address.
health_check() {
  local deadline=$((SECONDS + HEALTH_TIMEOUT)) code="000" verdict="none" kind="none" listens="" mismatch_since=-1 last_probe=-1
  say "waiting for $HEALTH_URL (at most ${HEALTH_TIMEOUT}s)"
  while ((SECONDS < deadline)); do
    app_alive || die app_exited "$EXIT_REASON; read the app log below" "$APP_LOG"
    code="$(curl --noproxy '*' -s -o /dev/null -w '%{http_code}' --connect-timeout 1 --max-time 3 "$HEALTH_URL" || true)"
    if ((last_probe != SECONDS)) || [[ "$code" == [23]?? ]]; then
      verdict="$(probe verdict "$CHECK_HOST" "$PORT" "$APP_PID")"
      last_probe=$SECONDS
    fi
    if [[ "$code" == [23]?? && "$verdict" == ok* ]]; then
      return 0
    fi
    kind="${verdict%% *}" listens="${verdict#* }"
    if [[ "$kind" == port_mismatch || "$kind" == bind_mismatch ]]; then
      ((mismatch_since >= 0)) || mismatch_since=$SECONDS
      if ((SECONDS - mismatch_since >= 3)); then
        [[ "$kind" == bind_mismatch ]] ||
          die port_mismatch "the app listens on $listens, not on port $PORT: make it listen on \$PORT" "$APP_LOG"
        die bind_mismatch "the app listens on $listens, which $CHECK_HOST cannot reach: listen on \$HOST ($BIND_HOST) or 0.0.0.0, not 127.0.0.1" "$APP_LOG"
      fi
    else
      mismatch_since=-1
    fi
    # Poll fast while a typical app boots, then calmly.
    if ((SECONDS - deadline + HEALTH_TIMEOUT < 3)); then sleep 0.1; else sleep 0.3; fi
  done
  app_alive || die app_exited "$EXIT_REASON; read the app log below" "$APP_LOG"
  [[ "$kind" != none ]] || listens="no TCP port"
  if [[ "$code" == 000 ]]; then
    die health_check_failed "nothing answered at $HEALTH_URL within ${HEALTH_TIMEOUT}s (the app listens on $listens)" "$APP_LOG"
  fi
  if [[ "$kind" != ok ]]; then
    die health_check_failed "$HEALTH_URL answered HTTP $code, but from another process, not the app (which listens on $listens)" "$APP_LOG"
  fi
  local body
  body="$(curl --noproxy '*' -s --max-time 3 "$HEALTH_URL" 2>/dev/null | head -c 300 | tr -c '[:print:]' ' ' || true)"
  if [[ "$code" == 404 ]]; then
    die health_check_failed "$HEALTH_URL answered HTTP 404 for ${HEALTH_TIMEOUT}s: the health path $HEALTH_PATH does not exist in the app" "$APP_LOG"
  fi
  die health_check_failed "$HEALTH_URL answered HTTP $code, not 2xx/3xx, for ${HEALTH_TIMEOUT}s${body:+ (it said: $body)}" "$APP_LOG"
}

# --- housekeeping ----------------------------------------------------------------------------
# Keeps the newest KEEP_RELEASES releases (always the current one) and the virtualenvs and
# node_modules they use; removes the rest.
prune_releases() {
  local dir name n=0 used=""
  while IFS= read -r name; do
    dir="$APP_HOME/releases/$name"
    if ((n < KEEP_RELEASES)) || [[ "$name" == "$RELEASE_ID" ]]; then
      [[ ! -f "$dir/.hivemind-deps" ]] || used+="$(cat -- "$dir/.hivemind-deps")"$'\n'
    else
      rm -rf -- "$dir"
    fi
    n=$((n + 1))
  done < <(find "$APP_HOME/releases" -mindepth 1 -maxdepth 1 -type d -name 'r-*' -printf '%f\n' | sort -t- -k2,2nr)
  for dir in "$APP_HOME/venvs"/* "$APP_HOME/deps"/*; do
    [[ -d "$dir" && "$dir" != *.tmp ]] || continue
    grep -qxF -- "$dir" <<<"$used" || rm -rf -- "$dir"
  done
  rm -f -- "$APP_HOME/releases/.$RELEASE_ID.tar.gz"
}

# --- main ----------------------------------------------------------------------------------------
print_arguments() {
  local name
  for name in DEPLOYMENT_ID RELEASE_ID RELEASE_URL LANGUAGE PACKAGE_MANAGER APP_DIR BUILD_COMMAND \
    START_COMMAND RELEASE_COMMAND PORT HEALTH_PATH DB_SECRET_ARN REGION HEALTH_TIMEOUT; do
    printf '%s=%s\n' "$name" "${!name}"
  done
}

main() {
  local tool state holders
  parse_args "$@"
  validate_args
  setup_environment
  if ((VALIDATE_ONLY)); then
    print_arguments
    return 0
  fi
  for tool in curl tar gzip sha256sum python3 setsid flock; do
    command -v "$tool" >/dev/null 2>&1 || die start_failed "$tool is not installed on this instance"
  done
  # The interpreter itself, not a version-manager shim: the probe runs many times.
  PY3="$(python3 -c 'import sys; print(sys.executable)')"
  ensure_app_user
  prepare_dirs
  exec 9>"$RUN_DIR/$DEPLOYMENT_ID.lock"
  flock -w 900 9 || die start_failed "another install of $DEPLOYMENT_ID is still running"

  fetch_release
  if already_built; then
    say "$RELEASE_ID is already unpacked and built (sha256 ${RELEASE_SHA:0:12}); skipping both"
  else
    unpack_release
  fi
  build_release
  write_env_file
  run_release_command
  write_launcher

  state="$RELEASE_ID $RELEASE_SHA $(cat -- "$ENV_FILE" "$LAUNCHER" | sha256sum | cut -c1-16)"
  if running_with_state "$state"; then
    say "$RELEASE_ID is already running with this configuration (pid $APP_PID); not restarting"
  else
    stop_app
    holders="$(probe holders "$BIND_HOST" "$PORT")"
    [[ -z "$holders" ]] ||
      die port_in_use "port $PORT is already taken by another process ($holders): stop it or choose another port"
    STARTED=1
    # On a real host everything the app may read or write belongs to its user.
    [[ -z "$APP_USER" ]] || chown -R -h "$APP_USER:$APP_USER" "$APP_HOME"
    switch_current
    say "starting $RELEASE_ID: $START_COMMAND"
    if ((USE_SYSTEMD)); then
      start_systemd
    else
      start_supervised
    fi
    printf '%s\n' "$state" >"$STATE_FILE"
  fi
  STARTED=1
  health_check
  STARTED=0
  prune_releases
  printf 'HIVEMIND_OK release=%s pid=%s url=%s\n' "$RELEASE_ID" "$APP_PID" "$HEALTH_URL"
}

main "$@"
