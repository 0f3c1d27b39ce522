"""The ``tether`` command: the desktop app and its tools.

    tether                      the desktop app (Join dialog)
    tether --server URL --token T   join directly
    tether --local              start a local test call at once
    tether tether://join?…      join from an invite link
    tether server               a session server
    tether token --session S    a join token
    tether session              a new session id
    tether bot --server URL --token T   a headless participant

Heavy imports (Qt, aiortc) happen only in the subcommand that needs them.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import time
import tomllib
from pathlib import Path

from app import __version__
from app.core.errors import TetherError
from app.core.tokens import DEFAULT_TTL, ROLES, make_token, new_session_id


def config_path() -> Path:
    from platformdirs import user_config_path

    return user_config_path("tether") / "config.toml"


def resolve_secret(explicit: str | None) -> str | None:
    """--secret, then TETHER_SECRET, then ``secret`` in the config file."""
    if explicit:
        return explicit
    if os.environ.get("TETHER_SECRET"):
        return os.environ["TETHER_SECRET"]
    path = config_path()
    if path.is_file():
        try:
            value = tomllib.loads(path.read_text()).get("secret")
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SystemExit(f"tether: cannot read {path}: {exc}") from None
        if isinstance(value, str) and value:
            return value
    return None


def parse_duration(text: str) -> float:
    """``90``, ``90s``, ``15m``, ``24h``, ``7d`` -> seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    text = text.strip().lower()
    try:
        if text and text[-1] in units:
            return float(text[:-1]) * units[text[-1]]
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a duration: {text!r} (e.g. 90s, 15m, 24h, 7d)"
        ) from None


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"not a whole number of at least 1: {text!r}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"not a number above 0: {text!r}")
    return value


def server_limits(args: argparse.Namespace):
    """The server's Limits: its defaults, with what the command line changed."""
    from dataclasses import replace

    from app.server.hub import Limits

    chosen = {
        "connections_per_session": args.max_connections_per_session,
        "sessions": args.max_sessions,
        "signal_rate": args.signal_rate,
        "signal_burst": args.signal_burst,
    }
    return replace(Limits(), **{k: v for k, v in chosen.items() if v is not None})


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tether", description="Video calls that survive the network."
    )
    parser.add_argument("--version", action="version", version=f"tether {__version__}")
    parser.add_argument("--server", help="server URL to join directly, e.g. ws://127.0.0.1:8765")
    parser.add_argument("--token", help="join token (with --server)")
    parser.add_argument("--name", help="display name")
    parser.add_argument("--self-test", action="store_true", help="run the offscreen self-test")
    parser.add_argument(
        "--local", action="store_true", help="start a local test call at once (embedded server)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command")

    from app.server.hub import Limits

    limits = Limits()
    srv = sub.add_parser("server", help="run a session server")
    srv.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    srv.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks one)")
    srv.add_argument(
        "--secret", help="token secret (default: TETHER_SECRET, config file, or a new one)"
    )
    srv.add_argument(
        "--window", type=parse_duration, default=30.0, help="reconnection window (default 30s)"
    )
    srv.add_argument("--cert", help="PEM certificate: serve wss:// (with --key)")
    srv.add_argument("--key", help="PEM private key for --cert")
    srv.add_argument(
        "--heartbeat-timeout",
        type=parse_duration,
        default=5.0,
        help="silence before a client counts as gone (default 5s)",
    )
    srv.add_argument(
        "--max-connections-per-session",
        type=positive_int,
        metavar="N",
        help="people in one session; the next join is refused with 1420"
        f" (default {limits.connections_per_session})",
    )
    srv.add_argument(
        "--max-sessions",
        type=positive_int,
        metavar="N",
        help="sessions on this server; a join to a new one is refused with 1421"
        f" (default {limits.sessions})",
    )
    srv.add_argument(
        "--signal-rate",
        type=positive_float,
        metavar="PER_S",
        help="signals per second per connection after the burst; more get 1429"
        f" (default {limits.signal_rate:g})",
    )
    srv.add_argument(
        "--signal-burst",
        type=positive_float,
        metavar="N",
        help=f"signals one connection may send at once (default {limits.signal_burst:g})",
    )

    tok = sub.add_parser("token", help="make a join token")
    tok.add_argument("--session", help="session id (see 'tether session')")
    tok.add_argument(
        "--new-session", action="store_true", help="make a new session id for the token"
    )
    tok.add_argument("--role", choices=ROLES, default="publisher")
    tok.add_argument("--data", default="", help="connection data others see (<= 1000 characters)")
    tok.add_argument(
        "--expires",
        type=parse_duration,
        default=DEFAULT_TTL,
        help="lifetime (default 24h, max 30d)",
    )
    tok.add_argument("--secret", help="token secret (default: TETHER_SECRET or the config file)")
    tok.add_argument("--no-signal", action="store_true", help="the connection may not send signals")

    sub.add_parser("session", help="print a new session id")

    cert = sub.add_parser("cert", help="make a self-signed development certificate for wss://")
    cert.add_argument("--out", default=".", help="directory for tether-dev.crt / tether-dev.key")
    cert.add_argument("--host", action="append", help="host name or address (repeatable)")

    bot = sub.add_parser(
        "bot",
        help="a headless participant (JSON lines on stdout, commands on stdin)",
        add_help=False,
    )
    bot.add_argument("rest", nargs=argparse.REMAINDER)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] and argv[0].startswith("tether:"):  # an invite link, as the .desktop file passes
        from app.ui.main import run as run_app

        return run_app(argv)
    if argv[:1] == ["bot"]:
        from app.client.bot import main as bot_main

        return bot_main(argv[1:])
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        if args.command == "server":
            return _server(args)
        if args.command == "token":
            return _token(args)
        if args.command == "session":
            print(new_session_id())
            return 0
        if args.command == "cert":
            from app.server.tls import write_dev_certificate

            crt, key = write_dev_certificate(args.out, args.host)
            print(f"certificate: {crt}\nkey:         {key}")
            print(f"serve:  tether server --cert {crt} --key {key}")
            print(f"trust:  TETHER_CA_FILE={crt} tether …   or   tether bot --ca-file {crt} …")
            return 0
    except TetherError as exc:
        print(f"tether: error {int(exc.code)}: {exc.message}", file=sys.stderr)
        return 2
    from app.ui.main import run as run_app

    return run_app(args)


def _token(args: argparse.Namespace) -> int:
    secret = resolve_secret(args.secret)
    if not secret:
        print(
            'tether: no secret: pass --secret, set TETHER_SECRET, or put secret = "…" in '
            f"{config_path()}",
            file=sys.stderr,
        )
        return 2
    if args.new_session == bool(args.session):
        print("tether: give exactly one of --session ID or --new-session", file=sys.stderr)
        return 2
    session_id = args.session or new_session_id()
    token = make_token(
        secret,
        session_id,
        now=time.time(),
        role=args.role,
        data=args.data,
        ttl=args.expires,
        can_signal=not args.no_signal,
    )
    if args.new_session:
        print(f"# session {session_id}", file=sys.stderr)
    print(token)
    return 0


def _server(args: argparse.Namespace) -> int:
    from app.server.runner import TetherServer

    ssl_context = None
    if args.cert or args.key:
        if not (args.cert and args.key):
            print("tether: --cert and --key go together", file=sys.stderr)
            return 2
        from app.server.tls import server_context

        try:
            ssl_context = server_context(args.cert, args.key)
        except (OSError, ValueError) as exc:
            print(f"tether: cannot load the certificate: {exc}", file=sys.stderr)
            return 2

    async def serve() -> None:
        server = TetherServer(
            ssl_context=ssl_context,
            host=args.host,
            port=args.port,
            secret=resolve_secret(args.secret),
            reconnection_window=args.window,
            heartbeat_timeout=args.heartbeat_timeout,
            limits=server_limits(args),
        )
        await server.start()
        print(f"Tether server listening on {server.url}", flush=True)
        print(
            f"  health: {server.http_url}/healthz   metrics: {server.http_url}/metrics", flush=True
        )
        if server.generated_secret:
            session_id = new_session_id()
            token = server.make_token(session_id, data="guest")
            print(f"  no secret configured; this run's secret: {server.secret}", flush=True)
            print(f"  a token for session {session_id}:\n    {token}", flush=True)
            print(f"  join it:  tether --server {server.url} --token {token}", flush=True)
            print(f"  or a bot: tether bot --server {server.url} --token {token}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        try:
            await stop.wait()  # SIGINT / SIGTERM: tell clients it is final, then exit 0
        finally:
            await server.stop()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(
            f"tether: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 1
    return 0
