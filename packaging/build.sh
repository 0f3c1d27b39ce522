#!/usr/bin/env bash
# Build the one-folder Tether bundle and its versioned tarball.
#
#   bash packaging/build.sh
#
# Produces dist/tether/ (run dist/tether/tether) and
# dist/tether-<version>-linux-<arch>.tar.gz, whose top directory is tether/.
# PyInstaller's work files go to build/; both build/ and dist/ are ignored by git.
#
# Python: $PYTHON, else .venv/bin/python (see packaging/bootstrap.sh), else python3.
# PyInstaller is installed into that environment when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-}"
if [ -z "$PYTHON" ]; then
  if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
PYINSTALLER_REQ="pyinstaller>=6.10,<7"

# PyInstaller bundles whatever that Python can import: refuse to make a bundle
# that would lack the app's own dependencies.
if ! "$PYTHON" -c "import PySide6.QtWidgets, qasync, aiortc, av, aiohttp, jwt, msgspec, platformdirs" \
  2>/dev/null; then
  echo "build: $PYTHON lacks Tether's dependencies; run 'bash packaging/bootstrap.sh test'" \
    "first or set PYTHON=/path/to/venv/bin/python" >&2
  exit 1
fi

if ! "$PYTHON" -m PyInstaller --version >/dev/null 2>&1; then
  echo "build: installing $PYINSTALLER_REQ into $("$PYTHON" -c 'import sys; print(sys.prefix)')" >&2
  "$PYTHON" -m pip install -q "$PYINSTALLER_REQ"
fi

# The version is read from the source, not imported: the build must not depend
# on which copy of the package an editable install points at.
version="$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' app/__init__.py)"
[ -n "$version" ] || { echo "build: no __version__ in app/__init__.py" >&2; exit 1; }
arch="$(uname -m)"
tarball="dist/tether-${version}-linux-${arch}.tar.gz"

start=$(date +%s.%N)
"$PYTHON" -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath dist --workpath build packaging/tether.spec
# A user who has only the tarball can still put Tether in the app menu.
install -m 0755 packaging/install-desktop.sh dist/tether/install-desktop.sh

rm -f "$tarball"
tar -C dist --owner=0 --group=0 --numeric-owner -czf "$tarball" tether
end=$(date +%s.%N)

bundle_size=$(du -sm dist/tether | cut -f1)
tar_size=$(du -m "$tarball" | cut -f1)
printf 'build: dist/tether/ (%s MB) and %s (%s MB) in %.1f s\n' \
  "$bundle_size" "$tarball" "$tar_size" "$(awk "BEGIN { print $end - $start }")" >&2
