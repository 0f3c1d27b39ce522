"""Reading a call's history out of bots' JSON lines, and the assertions the matrix shares."""

from __future__ import annotations

from collections import Counter
from typing import Any

from tests.lab.bot import BotProcess

SESSION_STATE = ("on_connected", "on_reconnection_started", "on_reconnected", "on_disconnected")
PEER_EVENTS = (
    "on_connection_created",
    "on_connection_interrupted",
    "on_connection_resumed",
    "on_connection_dropped",
)


def session_story(bot: BotProcess) -> list[str]:
    """The bot's own connection-state callbacks, in order (subscriber callbacks left out)."""
    return [
        x["event"] + (f"({x['reason']})" if x["event"] == "on_disconnected" else "")
        for x in bot.lines
        if x["event"] in SESSION_STATE and not x.get("subscriber")
    ]


def peer_story(bot: BotProcess, connection_id: str) -> list[str]:
    """What ``bot`` was told about another connection, in order."""
    out = []
    for x in bot.lines:
        if x["event"] in PEER_EVENTS:
            conn = x.get("connection")
            cid = conn.get("id") if isinstance(conn, dict) else x.get("connection_id", conn)
            if cid == connection_id:
                reason = f"({x['reason']})" if "reason" in x else ""
                out.append(x["event"] + reason)
    return out


def received_data(bot: BotProcess, sender: BotProcess, type_: str = "seq") -> list[str]:
    """The data of every signal of ``type_`` that ``bot`` received from ``sender``, in order."""
    cid = sender.connection_id
    return [
        x["data"]
        for x in bot.lines
        if x["event"] == "on_signal_received" and x.get("from") == cid and x.get("type") == type_
    ]


def results(bot: BotProcess) -> dict[str, dict[str, Any]]:
    """signal_result lines by command id (a duplicate id is an error)."""
    out: dict[str, dict[str, Any]] = {}
    for x in bot.select("signal_result"):
        assert x["id"] not in out, f"{bot.name}: two results for signal {x['id']}"
        out[x["id"]] = x
    return out


def assert_exactly_once_in_order(got: list[str], sent: list[str], where: str) -> None:
    """``got`` is ``sent``: nothing lost, nothing twice, nothing out of order."""
    if got == sent:
        return
    dup = sorted(k for k, n in Counter(got).items() if n > 1)
    missing = [s for s in sent if s not in set(got)]
    extra = [g for g in got if g not in set(sent)]
    order = "" if sorted(got) != sorted(sent) else " (same items, wrong order)"
    raise AssertionError(
        f"{where}: {len(got)} received of {len(sent)} sent{order}; "
        f"duplicated {dup[:10]}, missing {missing[:10]} (of {len(missing)}), "
        f"unexpected {extra[:10]}"
    )


def assert_all_sent(bot: BotProcess, ids: list[str]) -> None:
    res = results(bot)
    missing = [i for i in ids if i not in res]
    failed = [(i, res[i].get("code")) for i in ids if i in res and res[i]["status"] != "sent"]
    assert not missing and not failed, (
        f"{bot.name}: no result for {missing[:10]} ({len(missing)}), failed {failed[:10]}"
    )


def plain(story: list[str]) -> list[str]:
    """A peer story without its interrupted / resumed lines, which must be well formed:
    every interruption ends in a resume or in the drop that follows it."""
    out: list[str] = []
    away = False
    for event in story:
        if event == "on_connection_interrupted":
            assert not away, f"interrupted twice in a row: {story}"
            away = True
            continue
        if event == "on_connection_resumed":
            assert away, f"resumed without an interruption: {story}"
            away = False
            continue
        if event.startswith("on_connection_dropped"):
            away = False
        out.append(event)
    assert not away, f"left interrupted: {story}"
    return out


def interruptions(story: list[str]) -> int:
    return story.count("on_connection_interrupted")
