#!/usr/bin/env bash
# Set up Tether on Debian 12 (as root, or with sudo) and run it.
#
#   bash packaging/bootstrap.sh app  [tether args]   the desktop app (a local test call by default)
#   bash packaging/bootstrap.sh test [pytest args]   the whole test suite, the frozen bundle too
#   bash packaging/bootstrap.sh setup                set up only
#
# `test` builds the PyInstaller bundle (about 25 s) so that tests/packaging runs
# against it; TETHER_FROZEN=path uses an existing bundle instead, and
# TETHER_FROZEN=none leaves the frozen checks out.
#
# Idempotent: Debian packages are installed only when missing, the virtual
# environment (.venv) only when pyproject.toml has changed since the last run.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-app}"
shift || true

debs=(
  python3 python3-venv python3-dev gcc binutils
  # Qt offscreen and on a screen (xcb)
  libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 libglib2.0-0
  libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-randr0 libxcb-render-util0
  libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libxcb-xfixes0 libx11-xcb1
  # QtMultimedia (audio playback)
  libpulse0
)
if [ "$mode" = test ] || [ "$mode" = setup ]; then
  # a real window for screenshots; network namespaces for the fault lab
  debs+=(xvfb xauth iproute2 procps desktop-file-utils)
fi

missing=()
for pkg in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "bootstrap: installing Debian packages: ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
stamp=.venv/.tether-installed
if [ ! -x .venv/bin/python ] || [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "bootstrap: preparing .venv (pip packages)" >&2
  "$PY" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[test,freeze]"
  touch "$stamp"
fi

case "$mode" in
  app)
    # No arguments: straight into a local test call on an embedded server.
    if [ "$#" -eq 0 ]; then set -- --local; fi
    exec .venv/bin/tether "$@"
    ;;
  setup)
    ;;
  test)
    if [ -z "${TETHER_FROZEN:-}" ]; then
      PYTHON=.venv/bin/python bash packaging/build.sh >&2
      export TETHER_FROZEN="$PWD/dist/tether/tether"
    elif [ "$TETHER_FROZEN" = none ]; then
      unset TETHER_FROZEN
    fi
    exec .venv/bin/python -m pytest "$@"
    ;;
  *)
    echo "usage: bash packaging/bootstrap.sh app|test|setup [args]" >&2
    exit 2
    ;;
esac
