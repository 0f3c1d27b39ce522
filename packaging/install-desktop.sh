#!/usr/bin/env bash
# Put a Tether bundle in your home directory so it shows up in the desktop's app menu.
#
#   bash install-desktop.sh                 # from an unpacked tarball (tether/install-desktop.sh)
#   bash packaging/install-desktop.sh       # from a checkout, after packaging/build.sh
#   bash install-desktop.sh --bundle DIR    # any one-folder bundle (DIR/tether is the program)
#   bash install-desktop.sh --uninstall
#
# Installs, for this user only (no root needed):
#   ~/.local/lib/tether/                                  the bundle (replaced atomically)
#   ~/.local/bin/tether                                   a link to the program
#   ~/.local/share/applications/tether.desktop            the menu entry (handles tether:// links)
#   ~/.local/share/icons/hicolor/scalable/apps/tether.svg the icon
# $XDG_DATA_HOME replaces ~/.local/share, and --prefix DIR replaces ~/.local.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
prefix="$HOME/.local"
bundle=""
uninstall=0
while [ $# -gt 0 ]; do
  case "$1" in
    --bundle) bundle="$2"; shift 2 ;;
    --prefix) prefix="$2"; shift 2 ;;
    --uninstall) uninstall=1; shift ;;
    -h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install-desktop: unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done

data_home="${XDG_DATA_HOME:-$prefix/share}"
[ "$prefix" = "$HOME/.local" ] || data_home="$prefix/share"
lib_dir="$prefix/lib/tether"
bin_link="$prefix/bin/tether"
desktop_file="$data_home/applications/tether.desktop"
icon_file="$data_home/icons/hicolor/scalable/apps/tether.svg"

refresh_caches() {
  # Both are optional: menus also pick up the files on their own, later.
  if command -v update-desktop-database >/dev/null; then
    update-desktop-database -q "$data_home/applications" || true
  fi
  if command -v gtk-update-icon-cache >/dev/null && [ -f "$data_home/icons/hicolor/index.theme" ]; then
    gtk-update-icon-cache -q -t "$data_home/icons/hicolor" || true
  fi
}

if [ "$uninstall" = 1 ]; then
  rm -rf "$lib_dir"
  rm -f "$desktop_file" "$icon_file"
  # Only remove the link if it is ours.
  if [ -L "$bin_link" ] && [ "$(readlink "$bin_link")" = "$lib_dir/tether" ]; then
    rm -f "$bin_link"
  fi
  refresh_caches
  echo "Tether removed from $prefix (settings in ~/.config are kept)."
  exit 0
fi

if [ -z "$bundle" ]; then
  if [ -x "$here/tether" ] && [ -d "$here/_internal" ]; then
    bundle="$here"                      # the script inside an unpacked tarball
  elif [ -x "$here/../dist/tether/tether" ]; then
    bundle="$here/../dist/tether"       # the script in a checkout
  else
    echo "install-desktop: no bundle found; build one with 'bash packaging/build.sh'" \
      "or pass --bundle DIR" >&2
    exit 1
  fi
fi
bundle="$(cd "$bundle" && pwd)"
[ -x "$bundle/tether" ] || { echo "install-desktop: $bundle/tether is not a program" >&2; exit 1; }

resources="$bundle/_internal/resources"
for needed in tether.desktop icons/tether.svg; do
  [ -f "$resources/$needed" ] || { echo "install-desktop: missing $resources/$needed" >&2; exit 1; }
done

# Copy next to the target, then swap, so a failed copy never leaves half a bundle.
mkdir -p "$(dirname "$lib_dir")"
if [ "$bundle" != "$lib_dir" ]; then
  staging="$(mktemp -d "$lib_dir.new.XXXXXX")"
  cp -a "$bundle/." "$staging/"
  rm -rf "$lib_dir.old"
  [ -e "$lib_dir" ] && mv "$lib_dir" "$lib_dir.old"
  mv "$staging" "$lib_dir"
  rm -rf "$lib_dir.old"
fi

mkdir -p "$(dirname "$bin_link")"
ln -sfn "$lib_dir/tether" "$bin_link"

# The menu entry runs the installed program by its full path: ~/.local/bin is
# often not on the PATH a desktop session starts programs with.
mkdir -p "$(dirname "$desktop_file")" "$(dirname "$icon_file")"
sed -e "s|^Exec=tether |Exec=\"$lib_dir/tether\" |" \
  -e "s|^Exec=tether$|Exec=\"$lib_dir/tether\"|" \
  -e "/^TryExec=/d" \
  -e "/^Exec=/i TryExec=$lib_dir/tether" \
  "$resources/tether.desktop" >"$desktop_file.tmp"
mv "$desktop_file.tmp" "$desktop_file"
install -m 0644 "$resources/icons/tether.svg" "$icon_file"
refresh_caches

if command -v desktop-file-validate >/dev/null; then
  desktop-file-validate "$desktop_file"
fi
echo "Tether installed: $lib_dir"
echo "  menu entry: $desktop_file"
case ":$PATH:" in
  *":$prefix/bin:"*) echo "  run it: tether" ;;
  *) echo "  run it: $bin_link  ($prefix/bin is not on your PATH)" ;;
esac
