#!/usr/bin/env bash
# The project's test command (CI runs it through .ci/run).  Idempotent set-up of what a fresh
# Debian machine lacks (as root), one build of the offline site, then every test:
#
#   bash tests/run.sh [pytest args...]
#
# 1. From Debian when missing: Chromium (/usr/bin/chromium), npm (the build fetches the Pyodide
#    core with `npm pack`), nginx (a browser test serves the site with it), iproute2 (the
#    loopback namespace).
# 2. .venv with the project installed editable, with its test extras.
# 3. python build.py (downloads into .cache/ the first time; later builds reuse the cache).
# 4. pytest on all tests, inside a network namespace that has only loopback (unshare -n), so the
#    browser tests prove the site works offline; without unshare they still block every
#    non-loopback request in the browser, and a warning says the namespace was not used.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { echo "[tests/run.sh] $*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    log "need root for: $*"; return 1; fi
}

apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if [ ! -x /usr/bin/chromium ]; then
  log "installing Debian chromium"
  apt_install chromium
fi
if ! command -v npm >/dev/null && [ ! -f .cache/npm/pyodide-0.27.7.tgz ]; then
  log "installing Debian npm (and Node.js): the build fetches the Pyodide core with npm pack"
  apt_install npm
fi
if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
  log "installing Debian nginx (for tests/browser/test_nginx.py; not started as a service)"
  # policy-rc.d: the package must not start nginx on port 80 as a side effect
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee /usr/sbin/policy-rc.d >/dev/null
    as_root chmod +x /usr/sbin/policy-rc.d
    apt_install nginx
    as_root rm -f /usr/sbin/policy-rc.d
  else
    apt_install nginx
  fi
fi
if ! command -v ip >/dev/null; then
  apt_install iproute2 || log "warning: iproute2 not installed"
fi

# axe-core for the accessibility audit (tests/browser/test_a11y.py pins version and sha256): the npm
# tarball in the download cache, never in the site. Fetched here because the tests run without network.
AXE_TGZ=.cache/npm/axe-core-4.10.3.tgz
if [ ! -f "$AXE_TGZ" ] && command -v npm >/dev/null; then
  log "fetching axe-core 4.10.3 (npm pack) for the accessibility audit"
  mkdir -p .cache/npm
  (cd .cache/npm && npm pack axe-core@4.10.3 --silent >/dev/null) || log "warning: npm pack axe-core failed"
fi

PY=python3
if [ ! -x .venv/bin/python ]; then
  log "creating .venv"
  if ! $PY -m venv .venv; then
    apt_install python3-venv && $PY -m venv .venv
  fi
fi
# pip install -e rebuilds the editable wheel every time (slow): skip it when this checkout is
# already what the venv imports and the test dependencies are there.
if .venv/bin/python - "$PWD" <<'PY' 2>/dev/null; then
import sys, pathlib
import pyfadml, pytest, playwright, panel, bokeh, segno  # noqa: F401
here = pathlib.Path(sys.argv[1]).resolve()
sys.exit(0 if here in pathlib.Path(pyfadml.__file__).resolve().parents else 1)
PY
  log "project already installed in .venv"
else
  log "installing the project (pip install -e '.[test]')"
  .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
fi

log "building the site"
start=$(date +%s)
.venv/bin/python build.py
log "build took $(( $(date +%s) - start )) s"

pytest_cmd=(.venv/bin/python -m pytest -ra "$@")
export PYFADML_SITE_REUSE=1      # the fixtures use the site just built
set +e
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && command -v ip >/dev/null \
    && unshare -n true 2>/dev/null; then
  log "running pytest in a loopback-only network namespace"
  unshare -n bash -c 'ip link set lo up && exec "$@"' bash "${pytest_cmd[@]}"
  rc=$?
else
  log "warning: unshare -n unavailable: tests run with the machine's network (the browser" \
      "tests still block and count every non-loopback request)"
  "${pytest_cmd[@]}"
  rc=$?
fi
set -e
if [ "$rc" = 5 ]; then
  log "error: pytest collected no tests"
  exit 1
fi
exit "$rc"
