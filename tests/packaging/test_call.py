"""A frozen server and a frozen bot hold a call over loopback and both stop cleanly."""

from __future__ import annotations

import json
import signal

from tests.packaging.frozen import Frozen, read_line_until, stop

SECRET = "packaging-test-secret-0123456789abcdef"


def test_frozen_bot_joins_a_frozen_server_and_leaves_cleanly(frozen: Frozen) -> None:
    server = frozen.start("server", "--port", "0", "--secret", SECRET)
    try:
        line, _ = read_line_until(server, lambda s: "listening on" in s, timeout=60)
        url = line.rsplit(" ", 1)[-1]
        assert url.startswith("ws://127.0.0.1:")

        token = frozen.run("token", "--new-session", "--data", "frozen bot", "--secret", SECRET)
        assert token.returncode == 0, token.stderr

        bot = frozen.start("bot", "--server", url, "--token", token.stdout.strip())
        try:
            line, before = read_line_until(
                bot, lambda s: json.loads(s).get("event") == "on_connected", timeout=60
            )
            assert before == []
            assert json.loads(line)["connection"].startswith("con_")

            assert bot.stdin is not None
            bot.stdin.write(json.dumps({"cmd": "disconnect"}) + "\n")
            bot.stdin.flush()
            assert bot.wait(timeout=30) == 0, bot.stderr.read() if bot.stderr else ""
        finally:
            stop(bot)

        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=30) == 0
        assert "Traceback" not in (server.stderr.read() if server.stderr else "")
    finally:
        stop(server)
