"""The reliability matrix: real links really go down, between real processes.

Each test asserts the whole story every participant told (its bot's JSON lines) and that every
signal arrived exactly once and in order, or that its sender was told it failed.

Signalling level only: the bots here neither publish nor subscribe to media (the bot of the
session core has no media); "media back" is checked once the bot can publish.
"""

from __future__ import annotations

import threading
import time

import pytest

from tests.lab.bot import BotProcess
from tests.lab.checks import (
    assert_all_sent,
    assert_exactly_once_in_order,
    interruptions,
    peer_story,
    plain,
    received_data,
    results,
    session_story,
)
from tests.lab.conftest import LabCall

pytestmark = pytest.mark.lab

CONNECTED = ["on_connected"]
RESUMED = ["on_connected", "on_reconnection_started", "on_reconnected"]


class Traffic:
    """Numbered signals from bots to everyone; remembers what each one sent."""

    def __init__(self, bots: list[BotProcess]) -> None:
        self.bots = bots
        self.sent: dict[str, list[str]] = {b.name: [] for b in bots}

    def send(self, bot: BotProcess, count: int = 1, *, retry: bool = True) -> list[str]:
        items = []
        for _ in range(count):
            data = f"{bot.name}:{len(self.sent[bot.name])}"
            self.sent[bot.name].append(data)
            items.append((data, data))
        bot.signals(items, retry_after_reconnect=retry)
        return [d for d, _ in items]

    def round(self, count: int = 1, senders: list[BotProcess] | None = None) -> None:
        for bot in senders or self.bots:
            self.send(bot, count)

    def wait_delivered(
        self,
        senders: list[BotProcess] | None = None,
        receivers: list[BotProcess] | None = None,
        timeout: float = 30,
    ) -> None:
        """Every sender has every outcome, every receiver got every signal of every sender."""
        for tx in senders or self.bots:
            ids = set(self.sent[tx.name])
            tx.wait_until(
                lambda lines, ids=ids: (
                    ids <= {x["id"] for x in lines if x["event"] == "signal_result"}
                ),
                timeout,
                f"results for {len(ids)} signals",
            )
            for rx in receivers or self.bots:
                rx.wait_count(
                    "on_signal_received",
                    len(ids),
                    timeout,
                    type="seq",
                    **{"from": tx.connection_id},
                )

    def check(
        self, senders: list[BotProcess] | None = None, receivers: list[BotProcess] | None = None
    ) -> None:
        for tx in senders or self.bots:
            assert_all_sent(tx, self.sent[tx.name])
            for rx in receivers or self.bots:
                got = received_data(rx, tx)
                assert_exactly_once_in_order(got, self.sent[tx.name], f"{tx.name} -> {rx.name}")


def _cut_and_resume(call: LabCall, seconds: float, *, must_notice: bool) -> None:
    cut, *others = call.bots
    traffic = Traffic(call.bots)
    traffic.round(3)
    traffic.wait_delivered()
    mark = cut.mark()

    lab = call.lab
    down = lab.link_down(cut.host)
    end = down + seconds
    refused = None
    while time.time() < end:
        traffic.round()
        if refused is None and cut.select("on_reconnection_started"):
            # While reconnecting, "only while connected" fails at once and never goes out.
            refused = "only-now"
            cut.signal(refused, refused, type_="now", retry_after_reconnect=False)
        time.sleep(min(0.5, max(0.0, end - time.time())))
    lab.link_up(cut.host)

    if must_notice:
        cut.wait_for("on_reconnected", 30, after=mark)
    traffic.round(3)
    traffic.wait_delivered()
    traffic.check()

    story = session_story(cut)
    if must_notice:
        assert story == RESUMED, story
    else:  # a short blip may pass inside TCP retransmission, before the 3 s silence rule
        assert story in (CONNECTED, RESUMED), story
    for bot in others:
        assert session_story(bot) == CONNECTED
        seen = peer_story(bot, cut.connection_id)
        assert plain(seen) == ["on_connection_created"], seen
        if seconds >= 10:  # far past the server's 5 s timeout
            assert interruptions(seen) == 1, seen
    if refused is not None:
        res = results(cut)[refused]
        assert (res["status"], res["code"]) == ("failed", 1010), res
        for bot in call.bots:
            assert not bot.select("on_signal_received", type="now"), bot.name

    _leave_first(cut, others)
    assert set(call.leave_all().values()) == {0}


def _leave_first(leaver: BotProcess, others: list[BotProcess]) -> None:
    """``leaver`` leaves cleanly; the others see it dropped with that reason."""
    leaver.disconnect()
    assert leaver.wait_exit(20) == 0
    want = ["on_connection_created", "on_connection_dropped(client_disconnected)"]
    for bot in others:
        bot.wait_until(
            lambda _, bot=bot: plain(peer_story(bot, leaver.connection_id)) == want, 20, str(want)
        )


@pytest.mark.timeout(90)
def test_link_down_1s_nothing_lost(lab_call):
    _cut_and_resume(lab_call(3, window=8), 1.0, must_notice=False)


@pytest.mark.timeout(90)
def test_link_down_5s_resumes_and_delivers_queued_signals(lab_call):
    _cut_and_resume(lab_call(3, window=8), 5.0, must_notice=True)


@pytest.mark.timeout(120)
def test_link_down_20s_inside_a_30s_window_resumes(lab_call):
    _cut_and_resume(lab_call(3, window=30), 20.0, must_notice=True)


@pytest.mark.timeout(120)
def test_link_down_longer_than_window_ends_with_reasons_everywhere(lab_call):
    window = 8.0
    call = lab_call(3, window=window)
    cut, *others = call.bots
    traffic = Traffic(call.bots)
    traffic.round(2)
    traffic.wait_delivered()

    down = call.lab.link_down(cut.host)
    cut.wait_for("on_reconnection_started", 10)
    lost = [f"lost:{n}" for n in range(5)]
    cut.signals([(x, x) for x in lost])  # queued; the window will end first
    traffic.round(2, senders=others)
    gone = cut.wait_for("on_disconnected", window + 10)
    for bot in others:
        bot.wait_for("on_connection_dropped", window + 15)
    call.lab.link_up(cut.host)

    # The cut client: told it is away, then that it is gone and why.
    assert session_story(cut) == [
        "on_connected",
        "on_reconnection_started",
        "on_disconnected(network_disconnected)",
    ]
    assert gone["time"] - down <= 3.5 + window + 1.5, gone["time"] - down
    # Every signal still queued failed with a code; none reached anyone.
    cut.wait_until(lambda lines: set(lost) <= set(results(cut)), 5, "the lost signals' outcomes")
    res = results(cut)
    assert [(res[x]["status"], res[x]["code"]) for x in lost] == [("failed", 1463)] * 5
    for bot in call.bots:
        assert not [x for x in received_data(bot, cut) if x.startswith("lost:")]
    assert cut.wait_exit(15) == 1  # ended by the network, not by the user

    # The others: the connection dropped with its reason; their own call goes on.
    for bot in others:
        assert session_story(bot) == CONNECTED
        seen = peer_story(bot, cut.connection_id)
        assert plain(seen) == [
            "on_connection_created",
            "on_connection_dropped(network_disconnected)",
        ], seen
        assert interruptions(seen) == 1, seen
    traffic.round(2, senders=others)
    traffic.wait_delivered(senders=others, receivers=others)
    traffic.check(senders=others, receivers=others)
    assert set(call.leave_all().values()) <= {0, 1}


@pytest.mark.timeout(150)
def test_flapping_ten_times_ends_connected_nothing_lost_or_twice(lab_call):
    call = lab_call(3, window=8)
    cut, *others = call.bots
    traffic = Traffic(call.bots)
    for _ in range(10):
        call.lab.link_down(cut.host)
        for _ in range(4):
            traffic.round()
            time.sleep(0.25)
        call.lab.link_up(cut.host)
        for _ in range(4):
            traffic.round()
            time.sleep(0.25)
    traffic.round(3)
    traffic.wait_delivered(timeout=40)
    traffic.check()

    story = session_story(cut)
    assert story[0] == "on_connected" and "on_disconnected" not in " ".join(story)
    # Each outage noticed ends in a resume: started/reconnected alternate, last one reconnected.
    rest = story[1:]
    assert rest == ["on_reconnection_started", "on_reconnected"] * (len(rest) // 2), story
    for bot in others:
        assert session_story(bot) == CONNECTED
        assert plain(peer_story(bot, cut.connection_id)) == ["on_connection_created"]
    assert set(call.leave_all().values()) == {0}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("restart", [True, False], ids=["restarted", "not-restarted"])
def test_server_sigkill_gives_a_clear_outcome_within_the_window(lab_call, restart):
    window = 8.0
    call = lab_call(3, window=window)
    traffic = Traffic(call.bots)
    traffic.round(2)
    traffic.wait_delivered()

    killed = call.lab.kill_server()
    for bot in call.bots:
        bot.wait_for("on_reconnection_started", 10)
        bot.signal("after-kill", "after-kill")
    if restart:
        time.sleep(1.0)
        call.lab.restart_server()
    ends = {bot.name: bot.wait_for("on_disconnected", window + 10) for bot in call.bots}

    for bot in call.bots:
        story = session_story(bot)
        assert story[:2] == ["on_connected", "on_reconnection_started"], story
        assert len(story) == 3 and story[2].startswith("on_disconnected("), story
        # Restarted: the new server does not know the connection and says so (1012).
        # Not restarted: the window passes while every attempt is refused.
        reason = ends[bot.name]["reason"]
        assert reason == ("resume_rejected" if restart else "network_disconnected"), reason
        if restart:
            assert [x["code"] for x in bot.select("on_error")] == [1012]
        # A clear outcome within the window (plus detection), and the bot does not hang.
        assert ends[bot.name]["time"] - killed <= window + 4.0, ends[bot.name]["time"] - killed
        # The outcome of the signal sent while away comes with the end (its line may
        # follow on_disconnected's).
        bot.wait_until(lambda lines, b=bot: "after-kill" in results(b), 5, "the after-kill outcome")
        res = results(bot)["after-kill"]
        assert res["status"] == "failed" and res["code"], res
        assert bot.wait_exit(15) == 1
    # What went before the kill was delivered exactly once.
    traffic.check()


def _clear_join_outcome(bot: BotProcess, bound: float) -> str:
    """Wait for a join to end one way or the other within ``bound``: "joined" or "refused"."""
    line = bot.wait_until(
        lambda lines: bot.ended or any(x["event"] == "on_connected" for x in lines),
        bound,
        "on_connected or an exit",
    )
    assert line
    if bot.select("on_connected"):
        return "joined"
    assert bot.wait_exit(5) == 2, bot.proc.returncode
    err = bot.stderr_text()
    assert "cannot join" in err and "1013" in err, err
    return "refused"


@pytest.mark.timeout(90)
def test_link_down_during_connect_fails_clearly_then_a_new_join_works(lab_call):
    # Each socket attempt is bounded (1 s) and retried until the 10 s connect deadline: a
    # link that stays dead is a clear "cannot join" (exit 2, code 1013), never a hang or a ghost.
    call = lab_call(1, clients=2, window=8)
    host = call.bots[0]
    call.lab.link_down("c2")
    started = time.monotonic()
    late = call.join("c2", "late", wait=False)
    assert _clear_join_outcome(late, 20) == "refused"
    assert time.monotonic() - started < 15
    assert session_story(late) == []
    call.lab.link_up("c2")
    call.bots.remove(late)
    again = call.join("c2", "again")
    call.settle()
    traffic = Traffic(call.bots)
    traffic.round(3)
    traffic.wait_delivered()
    traffic.check()
    assert [x["connection"]["data"] for x in host.select("on_connection_created")] == ["again"]
    assert session_story(again) == CONNECTED
    assert set(call.leave_all().values()) == {0}


@pytest.mark.timeout(150)
@pytest.mark.parametrize("delay", [0.05, 0.1, 0.15, 0.2, 0.25])
def test_cut_at_points_during_the_join_ends_clearly(lab_call, delay):
    # The bot joins ~0.2 s after its process starts (measured here); a 3 s cut lands
    # somewhere in that.  Either it joins (and then works, after resuming if it noticed) or it
    # says it cannot join; it never hangs, and the others never keep a ghost past the window.
    call = lab_call(1, clients=2, window=8)
    host = call.bots[0]
    late = call.join("c2", "late", wait=False)
    call.lab.at(delay, call.lab.cut, "c2", 3.0)
    outcome = _clear_join_outcome(late, 20)
    if outcome == "refused":
        print(f"cut {delay} s after start: cannot join")
        call.bots.remove(late)
        # If the join reached the server, the others saw it come and, after the window, go.
        seen = host.select("on_connection_created")
        if seen:
            host.wait_for("on_connection_dropped", 8 + 10)
            assert plain(peer_story(host, seen[0]["connection"]["id"])) == [
                "on_connection_created",
                "on_connection_dropped(network_disconnected)",
            ]
        return
    print(f"cut {delay} s after start: joined")
    call.lab.wait_action("link_up", "c2", delay + 10)
    traffic = Traffic(call.bots)
    traffic.round(3)
    traffic.wait_delivered()
    traffic.check()
    assert session_story(late) in (CONNECTED, RESUMED), session_story(late)
    assert peer_story(host, late.connection_id)[0] == "on_connection_created"
    assert set(call.leave_all().values()) == {0}


@pytest.mark.timeout(120)
def test_cut_in_the_middle_of_a_500_signal_burst(lab_call):
    call = lab_call(3, window=8)
    sender, *others = call.bots
    burst = [f"b:{n}" for n in range(500)]

    # Handed to the bot ten at a time every 50 ms, so the burst lasts about 2.5 s and a
    # cut after the first 50 results always lands in its middle, however fast the link.
    def hand_over() -> None:
        for i in range(0, len(burst), 10):
            sender.signals([(x, x) for x in burst[i : i + 10]])
            time.sleep(0.05)

    writer = threading.Thread(target=hand_over, daemon=True)
    writer.start()
    # Cut while the burst is still going out: some acknowledged, not all.
    acked = sender.wait_until(
        lambda lines: sum(1 for x in lines if x["event"] == "signal_result") >= 50,
        30,
        "50 results",
    )
    call.lab.link_down(sender.host)
    at_cut = len(sender.select("signal_result"))
    time.sleep(5.0)
    call.lab.link_up(sender.host)
    writer.join(10)
    assert acked and at_cut < 500, f"the burst was over before the cut ({at_cut} results)"

    traffic = Traffic([sender])
    traffic.sent[sender.name] = burst
    traffic.wait_delivered(receivers=call.bots, timeout=40)
    assert_all_sent(sender, burst)
    for rx in call.bots:
        assert_exactly_once_in_order(received_data(rx, sender), burst, f"burst -> {rx.name}")
    # The burst can be complete a moment before the sender's on_reconnected line is read.
    if session_story(sender)[-1:] == ["on_reconnection_started"]:
        sender.wait_for("on_reconnected", 15)
    story = session_story(sender)
    assert story in (CONNECTED, RESUMED), story
    for bot in others:
        assert session_story(bot) == CONNECTED
    assert set(call.leave_all().values()) == {0}


@pytest.mark.timeout(90)
def test_partition_from_the_server_only_is_an_outage_too(lab_call):
    call = lab_call(2, window=8)
    cut, other = call.bots
    traffic = Traffic(call.bots)
    call.lab.partition(cut.host, "srv")
    cut.wait_for("on_reconnection_started", 10)
    traffic.round(3)
    time.sleep(2.0)
    call.lab.heal(cut.host, "srv")
    cut.wait_for("on_reconnected", 20)
    traffic.round(2)
    traffic.wait_delivered()
    traffic.check()
    assert session_story(cut) == RESUMED
    assert session_story(other) == CONNECTED
    assert set(call.leave_all().values()) == {0}
