#!/usr/bin/env bash
# CI step: build the bundle, then run the frozen tether as a user would.
#
#   bash packaging/ci-frozen.sh            # build, then check
#   bash packaging/ci-frozen.sh --no-build # check an existing dist/tether/
#
# Checks, in order (the first failure stops the script with a non-zero status):
#   1. dist/tether/tether --version matches app/__init__.py
#   2. tether token: a token from --secret, and from the XDG config file
#   3. a frozen server and a frozen bot: the bot prints on_connected, leaves on
#      {"cmd":"disconnect"} with status 0; the server stops on SIGINT with status 0
#   4. tether --self-test, offscreen, from a copy unpacked in another directory;
#      its JSON report is printed and kept in artifacts/self-test.json
# Every run gets a private HOME and XDG directories; nothing outside the
# checkout and a temporary directory is touched.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

build=1
[ "${1:-}" = "--no-build" ] && build=0

step() { printf '\n== %s\n' "$*" >&2; }
fail() { printf 'ci-frozen: FAIL: %s\n' "$*" >&2; exit 1; }

if [ "$build" = 1 ]; then
  step "build"
  bash packaging/build.sh
fi
exe="$root/dist/tether/tether"
[ -x "$exe" ] || fail "no $exe (run without --no-build)"

work="$(mktemp -d "${TMPDIR:-/tmp}/tether-ci-frozen.XXXXXX")"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

export HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" XDG_DATA_HOME="$work/home/.local/share"
export XDG_STATE_HOME="$work/home/.local/state" XDG_CACHE_HOME="$work/home/.cache"
export XDG_RUNTIME_DIR="$work/runtime" QT_QPA_PLATFORM=offscreen
unset TETHER_SECRET
mkdir -p "$XDG_CONFIG_HOME" "$XDG_RUNTIME_DIR"
chmod 0700 "$XDG_RUNTIME_DIR"
secret="ci-frozen-secret-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"

step "version"
version="$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' app/__init__.py)"
got="$("$exe" --version)"
[ "$got" = "tether $version" ] || fail "--version said '$got', want 'tether $version'"
echo "$got"

step "token"
token="$("$exe" token --new-session --data "ci" --secret "$secret")"
[[ "$token" =~ ^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$ ]] || fail "not a token: $token"
mkdir -p "$XDG_CONFIG_HOME/tether"
printf 'secret = "%s"\n' "$secret" >"$XDG_CONFIG_HOME/tether/config.toml"
"$exe" token --new-session >/dev/null || fail "token did not read $XDG_CONFIG_HOME/tether/config.toml"
rm "$XDG_CONFIG_HOME/tether/config.toml"
echo "ok: token from --secret and from the XDG config file"

step "server + bot"
mkfifo "$work/bot.in"
# Job control on while starting it: a script's background jobs otherwise start
# with SIGINT ignored, and the server's Ctrl-C path is what this step checks.
set -m
"$exe" server --port 0 --secret "$secret" >"$work/server.out" 2>"$work/server.err" &
server_pid=$!
set +m
pids+=("$server_pid")
url=""
for _ in $(seq 600); do
  url="$(sed -n 's/^Tether server listening on \(ws:\/\/[^ ]*\)$/\1/p' "$work/server.out")"
  [ -n "$url" ] && break
  kill -0 "$server_pid" 2>/dev/null || fail "server exited: $(cat "$work/server.err")"
  sleep 0.1
done
[ -n "$url" ] || fail "server did not say where it listens within 60 s"
echo "server: $url"

session="$("$exe" session)"
bot_token="$("$exe" token --session "$session" --data "frozen bot" --secret "$secret")"
"$exe" bot --server "$url" --token "$bot_token" <"$work/bot.in" >"$work/bot.out" 2>"$work/bot.err" &
bot_pid=$!
pids+=("$bot_pid")
exec 3>"$work/bot.in" # hold the bot's stdin open until we send the command
connected=""
for _ in $(seq 600); do
  connected="$(grep -m1 '"event": "on_connected"' "$work/bot.out" || true)"
  [ -n "$connected" ] && break
  kill -0 "$bot_pid" 2>/dev/null || fail "bot exited: $(cat "$work/bot.out" "$work/bot.err")"
  sleep 0.1
done
[ -n "$connected" ] || fail "no on_connected from the bot within 60 s: $(cat "$work/bot.out")"
echo "bot: $connected"
echo '{"cmd": "disconnect"}' >&3
exec 3>&-
bot_status=0
timeout 30 tail --pid="$bot_pid" -f /dev/null || fail "bot still running 30 s after disconnect"
wait "$bot_pid" || bot_status=$?
[ "$bot_status" = 0 ] || fail "bot exited $bot_status after disconnect: $(cat "$work/bot.err")"
echo "ok: bot left with status 0"
kill -INT "$server_pid"
server_status=0
timeout 30 tail --pid="$server_pid" -f /dev/null || fail "server still running 30 s after SIGINT"
wait "$server_pid" || server_status=$?
[ "$server_status" = 0 ] || fail "server exited $server_status on SIGINT: $(cat "$work/server.err")"
echo "ok: server stopped with status 0"

step "self-test (offscreen, from a moved copy)"
moved="$work/unpacked here"
mkdir -p "$moved"
tar -C "$root/dist" -cf - tether | tar -C "$moved" -xf -
mkdir -p artifacts
status=0
timeout 300 "$moved/tether/tether" --self-test >"$work/self-test.out" 2>"$work/self-test.err" ||
  status=$?
tail -n 1 "$work/self-test.out" >artifacts/self-test.json || true
cat "$work/self-test.out"
if [ "$status" != 0 ]; then
  tail -n 40 "$work/self-test.err" >&2
  [ "$status" -gt 128 ] && fail "self-test killed by signal $((status - 128)) (134 = abort at exit)"
  fail "self-test exited $status"
fi
python3 -c 'import json, sys; json.load(open(sys.argv[1]))' artifacts/self-test.json ||
  fail "self-test's last line is not a JSON report"
echo "ok: self-test passed; report in artifacts/self-test.json"

printf '\nci-frozen: all checks passed\n' >&2
