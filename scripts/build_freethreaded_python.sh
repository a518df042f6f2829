#!/usr/bin/env bash
# Build (or reuse) a free-threaded CPython interpreter: 3.13t (the default) or 3.14t.
#
# Free-threaded CPython is not on PyPI, so the upstream source tarball is taken from Debian's
# python3.X source package (python3.13 from trixie, python3.14 from forky), fetched with
# `apt-get source --download-only`, and built with `./configure --disable-gil`.
#
# Usage:   PY=$(bash scripts/build_freethreaded_python.sh [3.13|3.14] | tail -n1)
#
# The last line of stdout is the absolute path of the interpreter; everything else goes to stderr.
# The interpreter is installed under
#   ${PYO3_MIGRATE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pyo3-migrate}/cpython-3.Xt
# and reused on later runs if it still works. make's output goes to build-3.Xt.log in the cache dir.
#
# Environment knobs (all optional):
#   PYO3_MIGRATE_CACHE           cache directory (see above)
#   PYO3_MIGRATE_PY_TARBALL      use this Python-3.X.y source tarball instead of fetching one
#   PYO3_MIGRATE_PY_SUITE        Debian suite to take the source package from (default: see above)
#   PYO3_MIGRATE_FORCE_REBUILD=1 rebuild even if a working interpreter is cached
#   PYO3_MIGRATE_JOBS            parallel make jobs (default: nproc)
set -euo pipefail

# Keep stdout clean: only the final interpreter path is written to the original stdout (fd 3).
exec 3>&1 1>&2

log() { printf '[build-ft-python] %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
# shellcheck disable=SC2154  # rc is assigned inside the trap string
trap 'rc=$?; printf "error: command failed (exit %s) at line %s: %s\n" "$rc" "$LINENO" "$BASH_COMMAND" >&2; exit "$rc"' ERR

[[ -n "${HOME:-}" || -n "${PYO3_MIGRATE_CACHE:-}" || -n "${XDG_CACHE_HOME:-}" ]] \
  || die "HOME is unset; set PYO3_MIGRATE_CACHE to choose a cache directory"

VER="${1:-3.13}"
case "$VER" in
  3.13) DEFAULT_SUITE=trixie ;;
  3.14) DEFAULT_SUITE=forky ;;
  *) die "unsupported version $VER (3.13 or 3.14)" ;;
esac
MINOR="${VER#3.}"
CACHE_DIR="${PYO3_MIGRATE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pyo3-migrate}"
SUITE="${PYO3_MIGRATE_PY_SUITE:-$DEFAULT_SUITE}"
SOURCES_FILE="/etc/apt/sources.list.d/pyo3-migrate-python$VER-src.sources"
JOBS="${PYO3_MIGRATE_JOBS:-$(nproc 2>/dev/null || echo 2)}"
export DEBIAN_FRONTEND=noninteractive

mkdir -p "$CACHE_DIR" || die "cannot create cache directory $CACHE_DIR"
CACHE_DIR="$(cd "$CACHE_DIR" && pwd -P)"
PREFIX="$CACHE_DIR/cpython-${VER}t"; PY="$PREFIX/bin/python${VER}t"
LOG="$CACHE_DIR/build-${VER}t.log"; SRC_CACHE="$CACHE_DIR/src"

# Run the interpreter without caller settings that would change what the checks see
# (PYTHON_GIL=1 would re-enable the GIL; PYTHONHOME/PYTHONPATH could point at another Python).
pyrun() { env -u PYTHON_GIL -u PYTHONHOME -u PYTHONPATH "$PY" "$@"; }

# Exits 0 if $PY is a working free-threaded 3.X interpreter with the modules pip needs.
interpreter_ok() {
  [[ -x "$PY" ]] || return 1
  pyrun - "$MINOR" <<'PYEOF' >/dev/null 2>&1
import sys, sysconfig
assert sys.version_info[:2] == (3, int(sys.argv[1])), sys.version
assert sysconfig.get_config_var("Py_GIL_DISABLED") == 1
assert sys._is_gil_enabled() is False
import ssl, zlib, ctypes, bz2, lzma, sqlite3  # noqa: F401  (pip and common tooling need these)
PYEOF
}

has_pip() { pyrun -m pip --version >/dev/null 2>&1; }

ensure_pip() {
  if ! has_pip; then
    log "installing pip with ensurepip (offline)"
    pyrun -m ensurepip --default-pip >>"$LOG" 2>&1 || { tail -n 20 "$LOG" >&2; die "ensurepip failed (see $LOG)"; }
    if ! has_pip; then
      # A half-removed pip (stale pip-*.dist-info) makes ensurepip believe pip is installed.
      local purelib
      purelib="$(pyrun -c 'import sysconfig; print(sysconfig.get_path("purelib"))')"
      log "removing stale pip metadata in $purelib and retrying ensurepip"
      rm -rf "$purelib"/pip "$purelib"/pip-*.dist-info
      pyrun -m ensurepip --default-pip >>"$LOG" 2>&1 || { tail -n 20 "$LOG" >&2; die "ensurepip failed (see $LOG)"; }
    fi
    has_pip || die "pip is not importable after ensurepip"
  fi
}

finish() {
  ensure_pip
  log "interpreter: $(pyrun -c 'import sys; print(sys.version.replace(chr(10), " "))')"
  log "sys._is_gil_enabled() = $(pyrun -c 'import sys; print(sys._is_gil_enabled())')"
  printf '%s\n' "$PY" >&3
  exit 0
}

# Serialise concurrent runs (e.g. two CI jobs sharing a cache) when flock is available.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$CACHE_DIR/.build.lock"
  flock 9 || die "cannot lock $CACHE_DIR/.build.lock"
fi

if [[ "${PYO3_MIGRATE_FORCE_REBUILD:-0}" != 1 ]] && interpreter_ok; then
  log "using cached free-threaded interpreter at $PY"
  finish
fi

# ---------------------------------------------------------------------------------------------
# Build path.
# ---------------------------------------------------------------------------------------------
SUDO=()
if [[ "$(id -u)" -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO=(sudo -n); fi
fi
as_root() {
  if [[ "$(id -u)" -eq 0 || ${#SUDO[@]} -gt 0 ]]; then "${SUDO[@]}" "$@"
  else die "need root (or passwordless sudo) to run: $*"; fi
}

APT_UPDATED=0
apt_update() {
  log "apt-get update"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >>"$LOG" 2>&1 \
    || { tail -n 20 "$LOG" >&2; die "apt-get update failed (see $LOG)"; }
  APT_UPDATED=1
}

# Build dependencies: compiler toolchain plus headers for the stdlib modules pip/tests rely on.
BUILD_DEPS=(gcc make pkg-config xz-utils libc6-dev libssl-dev zlib1g-dev libffi-dev libbz2-dev
            liblzma-dev libsqlite3-dev libreadline-dev libncurses-dev uuid-dev libexpat1-dev)

install_build_deps() {
  command -v dpkg >/dev/null 2>&1 || { log "dpkg not found; assuming build dependencies are present"; return 0; }
  local missing=() p
  for p in "${BUILD_DEPS[@]}"; do
    dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed' || missing+=("$p")
  done
  if [[ ${#missing[@]} -eq 0 ]]; then log "build dependencies already installed"; return 0; fi
  command -v apt-get >/dev/null 2>&1 || die "missing build dependencies and no apt-get: ${missing[*]}"
  [[ $APT_UPDATED -eq 1 ]] || apt_update
  log "installing build dependencies: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    >>"$LOG" 2>&1 || { tail -n 20 "$LOG" >&2; die "apt-get install failed for: ${missing[*]} (see $LOG)"; }
}

# Print all deb822 stanzas of the given files as records separated by a line "@@END@@".
# Comment lines are dropped; continuation lines are kept verbatim.
deb822_stanzas() {
  awk '
    FNR == 1 && NR != 1 { if (n) print "@@END@@"; n = 0 }
    /^[[:space:]]*#/ { next }
    /^[[:space:]]*$/ { if (n) print "@@END@@"; n = 0; next }
    { print; n++ }
    END { if (n) print "@@END@@" }
  ' "$@" 2>/dev/null
}

# Is there already an enabled deb-src entry for $SUITE with component main?
have_deb_src() {
  local f files=()
  for f in /etc/apt/sources.list.d/*.sources; do [[ -f "$f" ]] && files+=("$f"); done
  if [[ ${#files[@]} -gt 0 ]]; then
    deb822_stanzas "${files[@]}" | awk -v suite="$SUITE" '
      function has(field, word,   n, a, i) { n = split(field, a, /[[:space:]]+/); for (i = 1; i <= n; i++) if (a[i] == word) return 1; return 0 }
      /^@@END@@$/ { if (has(t, "deb-src") && has(s, suite) && has(c, "main") && tolower(e) != "no") found = 1; t = s = c = e = ""; next }
      tolower($0) ~ /^types:/      { sub(/^[^:]*:/, ""); t = $0 }
      tolower($0) ~ /^suites:/     { sub(/^[^:]*:/, ""); s = $0 }
      tolower($0) ~ /^components:/ { sub(/^[^:]*:/, ""); c = $0 }
      tolower($0) ~ /^enabled:/    { sub(/^[^:]*:[[:space:]]*/, ""); e = $0 }
      END { exit !found }' && return 0
  fi
  local lists=()
  [[ -f /etc/apt/sources.list ]] && lists+=(/etc/apt/sources.list)
  for f in /etc/apt/sources.list.d/*.list; do [[ -f "$f" ]] && lists+=("$f"); done
  [[ ${#lists[@]} -gt 0 ]] || return 1
  awk -v suite="$SUITE" '
    $1 == "deb-src" { line = $0; sub(/\[[^]]*\]/, "", line); n = split(line, a, /[[:space:]]+/)
                      if (a[3] == suite) for (i = 4; i <= n; i++) if (a[i] == "main") found = 1 }
    END { exit !found }' "${lists[@]}"
}

# Find the main Debian archive entry; prints "URI" on line 1 and the raw Signed-By field
# (possibly multi-line, or empty) after it.
find_debian_entry() {
  local f files=()
  for f in /etc/apt/sources.list.d/*.sources; do [[ -f "$f" ]] && files+=("$f"); done
  if [[ ${#files[@]} -gt 0 ]]; then
    local out
    out="$(deb822_stanzas "${files[@]}" | awk '
      function flush() {
        if (!done && uri != "" && tolower(e) != "no") { print uri; if (sb != "") print sb; done = 1 }
        uri = ""; sb = ""; e = ""; insb = 0
      }
      /^@@END@@$/ { flush(); next }
      /^[[:space:]]/ { if (insb) sb = sb "\n" $0; next }
      { insb = 0 }
      tolower($0) ~ /^uris:/ {
        v = $0; sub(/^[^:]*:[[:space:]]*/, "", v); n = split(v, a, /[[:space:]]+/)
        for (i = 1; i <= n; i++) if (a[i] ~ /\/debian\/?$/) { uri = a[i]; break }
      }
      tolower($0) ~ /^signed-by:/ { sb = $0; insb = 1 }
      tolower($0) ~ /^enabled:/   { v = $0; sub(/^[^:]*:[[:space:]]*/, "", v); e = v }
      END { flush() }')"
    if [[ -n "$out" ]]; then printf '%s\n' "$out"; return 0; fi
  fi
  local lists=()
  [[ -f /etc/apt/sources.list ]] && lists+=(/etc/apt/sources.list)
  for f in /etc/apt/sources.list.d/*.list; do [[ -f "$f" ]] && lists+=("$f"); done
  [[ ${#lists[@]} -gt 0 ]] || return 1
  awk '
    ($1 == "deb" || $1 == "deb-src") && !done {
      opts = ""; line = $0
      if (match(line, /\[[^]]*\]/)) { opts = substr(line, RSTART + 1, RLENGTH - 2); sub(/\[[^]]*\]/, "", line) }
      n = split(line, a, /[[:space:]]+/); uri = ""
      for (i = 2; i <= n; i++) if (a[i] ~ /^[a-z+]+:\/\// ) { uri = a[i]; break }
      if (uri !~ /\/debian\/?$/) next
      print uri
      m = split(opts, o, /[[:space:]]+/)
      for (i = 1; i <= m; i++) if (tolower(o[i]) ~ /^signed-by=/) { sub(/^[^=]*=/, "", o[i]); print "Signed-By: " o[i] }
      done = 1
    }
    END { exit !done }' "${lists[@]}"
}

ensure_deb_src() {
  if have_deb_src; then log "deb-src entry for $SUITE already present"; return 1; fi
  local entry uri signed_by
  entry="$(find_debian_entry || true)"
  uri="$(printf '%s\n' "$entry" | sed -n 1p)"
  signed_by="$(printf '%s\n' "$entry" | sed -n '2,$p')"
  if [[ -z "$uri" ]]; then
    uri="http://deb.debian.org/debian"
    log "no existing Debian entry found; falling back to $uri"
  fi
  if [[ -z "$signed_by" && -f /usr/share/keyrings/debian-archive-keyring.gpg ]]; then
    signed_by="Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
  fi
  log "adding deb-src entry ($uri $SUITE main) in $SOURCES_FILE"
  {
    printf '# Added by pyo3-migrate scripts/build_freethreaded_python.sh (source of CPython %s)\n' "$VER"
    printf 'Types: deb-src\nURIs: %s\nSuites: %s\nComponents: main\n' "$uri" "$SUITE"
    if [[ -n "$signed_by" ]]; then printf '%s\n' "$signed_by"; fi
  } | as_root tee "$SOURCES_FILE" >/dev/null
  return 0
}

fetch_tarball() {  # sets TARBALL to the path of the orig tarball (cached under $SRC_CACHE)
  local dl="$1" t
  shopt -s nullglob
  local cached=("$SRC_CACHE"/python${VER}_${VER}.*.orig.tar.xz)
  shopt -u nullglob
  if [[ ${#cached[@]} -gt 0 ]]; then
    t="$(printf '%s\n' "${cached[@]}" | sort -V | tail -n1)"
    if xz -t "$t" 2>/dev/null; then log "using cached source tarball $t"; TARBALL="$t"; return 0; fi
    rm -f "$t"
  fi
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found; set PYO3_MIGRATE_PY_TARBALL to a Python-$VER source tarball"
  if ensure_deb_src || [[ -z "$(compgen -G "/var/lib/apt/lists/*_dists_${SUITE}_main_source_Sources*" || true)" ]]; then
    apt_update
  fi
  mkdir -p "$dl"   # apt warns that it downloads unsandboxed as root here; harmless
  log "downloading Debian source package python$VER ($SUITE)"
  if ! (cd "$dl" && as_root apt-get source --download-only -qq python$VER >>"$LOG" 2>&1); then
    if [[ $APT_UPDATED -eq 0 ]]; then
      apt_update
      (cd "$dl" && as_root apt-get source --download-only -qq python$VER >>"$LOG" 2>&1) \
        || { tail -n 20 "$LOG" >&2; die "apt-get source --download-only python$VER failed (see $LOG)"; }
    else
      tail -n 20 "$LOG" >&2; die "apt-get source --download-only python$VER failed (see $LOG)"
    fi
  fi
  shopt -s nullglob
  local got=("$dl"/python${VER}_${VER}.*.orig.tar.xz)
  shopt -u nullglob
  [[ ${#got[@]} -gt 0 ]] || die "no python${VER}_${VER}.*.orig.tar.xz in the downloaded source package"
  t="$(printf '%s\n' "${got[@]}" | sort -V | tail -n1)"
  mkdir -p "$SRC_CACHE"
  cp -f "$t" "$SRC_CACHE/"
  TARBALL="$SRC_CACHE/$(basename "$t")"
}

run_logged() {  # run a build step with output appended to $LOG; on failure show the tail
  local what="$1"; shift
  log "$what"
  if ! "$@" >>"$LOG" 2>&1; then
    printf -- '---- last 40 lines of %s ----\n' "$LOG" >&2
    tail -n 40 "$LOG" >&2
    die "$what failed (full log: $LOG)"
  fi
}

WORK="$(mktemp -d "${TMPDIR:-/tmp}/pyo3-migrate-ftpy.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
: >"$LOG"
log "building free-threaded CPython $VER into $PREFIX (log: $LOG)"

install_build_deps

if [[ -n "${PYO3_MIGRATE_PY_TARBALL:-}" ]]; then
  [[ -f "$PYO3_MIGRATE_PY_TARBALL" ]] || die "PYO3_MIGRATE_PY_TARBALL=$PYO3_MIGRATE_PY_TARBALL does not exist"
  TARBALL="$PYO3_MIGRATE_PY_TARBALL"
else
  fetch_tarball "$WORK/download"
fi
log "source: $(basename "$TARBALL")"

mkdir -p "$WORK/src"
tar -xf "$TARBALL" -C "$WORK/src" --strip-components=1 || die "cannot extract $TARBALL"
[[ -x "$WORK/src/configure" ]] || die "$TARBALL does not look like a CPython source tree"
grep -Eq "^#define PY_VERSION[[:space:]]+\"3\\.$MINOR\\." "$WORK/src/Include/patchlevel.h" 2>/dev/null \
  || die "$TARBALL is not a CPython $VER source tarball"

rm -rf "$PREFIX"
start=$SECONDS
cd "$WORK/src"
run_logged "configure --disable-gil"  ./configure --disable-gil --prefix="$PREFIX" --without-ensurepip
run_logged "make -j$JOBS"            make -j"$JOBS"
run_logged "make install"             make install
cd /
log "configure+make+install took $((SECONDS - start))s"

[[ -x "$PY" ]] || die "build finished but $PY does not exist"
pyrun -c 'import sys; assert not sys._is_gil_enabled()' 2>/dev/null \
  || die "$PY does not run with the GIL disabled"
interpreter_ok || die "$PY is missing stdlib modules (ssl/zlib/ctypes/bz2/lzma/sqlite3); see $LOG"
finish
