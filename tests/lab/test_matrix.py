"""The reliability matrix: real links really go down, between real processes.

Each test asserts the whole story every participant told (its bot's JSON lines) and that every
signal arrived exactly once and in order, or that its sender was told it failed.

Signalling level only: the bots here neither publish nor subscribe to media (the bot of the
session core has no media); "media back" is checked once the bot can publish.
"""

from __future__ import annotations

import time

import pytest

from tests.lab.bot import BotProcess
from tests.lab.checks import (
    assert_all_sent,
    assert_exactly_once_in_order,
    peer_story,
    received_data,
    results,
    session_story,
)
from tests.lab.conftest import LabCall

pytestmark = pytest.mark.lab

CONNECTED = ["on_connected"]
RESUMED = ["on_connected", "on_reconnection_started", "on_reconnected"]


class Traffic:
    """Numbered signals from each bot to everyone; remembers what each one sent."""

    def __init__(self, bots: list[BotProcess]) -> None:
        self.bots = bots
        self.sent: dict[str, list[str]] = {b.name: [] for b in bots}

    def send(self, bot: BotProcess, count: int = 1, *, retry: bool = True) -> list[str]:
        ids = []
        items = []
        for _ in range(count):
            n = len(self.sent[bot.name])
            data = f"{bot.name}:{n}"
            self.sent[bot.name].append(data)
            ids.append(data)
            items.append((data, data))
        bot.signals(items, retry_after_reconnect=retry)
        return ids

    def round(self, count: int = 1) -> None:
        for bot in self.bots:
            self.send(bot, count)

    def wait_delivered(self, receivers: list[BotProcess] | None = None, timeout: float = 30) -> None:
        """Every sender has every outcome, every receiver got every signal of every sender."""
        for tx in self.bots:
            ids = set(self.sent[tx.name])
            tx.wait_until(
                lambda lines, ids=ids: ids
                <= {x["id"] for x in lines if x["event"] == "signal_result"},
                timeout,
                f"results for {len(ids)} signals",
            )
        for rx in receivers or self.bots:
            for tx in self.bots:
                want = len(self.sent[tx.name])
                cid = tx.connection_id
                rx.wait_until(
                    lambda lines, cid=cid, want=want: (
                        sum(
                            1
                            for x in lines
                            if x["event"] == "on_signal_received"
                            and x.get("from") == cid
                            and x.get("type") == "seq"
                        )
                        >= want
                    ),
                    timeout,
                    f"{want} signals from {tx.name}",
                )

    def check(self, receivers: list[BotProcess] | None = None) -> None:
        for tx in self.bots:
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
        assert peer_story(bot, cut.connection_id) == ["on_connection_created"]
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
        bot.wait_until(lambda _: peer_story(bot, leaver.connection_id) == want, 20, str(want))


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
    others_traffic = Traffic(others)
    others_traffic.round(2)
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
    res = results(cut)
    assert [(res[x]["status"], res[x]["code"]) for x in lost] == [("failed", 1463)] * 5
    for bot in call.bots:
        assert not [x for x in received_data(bot, cut) if x.startswith("lost:")]
    assert cut.wait_exit(15) == 1  # ended by the network, not by the user

    # The others: the connection dropped with its reason; their own call goes on.
    for bot in others:
        assert session_story(bot) == CONNECTED
        assert peer_story(bot, cut.connection_id) == [
            "on_connection_created",
            "on_connection_dropped(network_disconnected)",
        ]
    others_traffic.round(2)
    others_traffic.wait_delivered()
    others_traffic.check()
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
        assert peer_story(bot, cut.connection_id) == ["on_connection_created"]
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
        reason = ends[bot.name]["reason"]
        assert reason and reason != "client_disconnected", reason
        # A clear outcome within the window (plus detection), and the bot does not hang.
        assert ends[bot.name]["time"] - killed <= window + 4.0, ends[bot.name]["time"] - killed
        res = results(bot)["after-kill"]
        assert res["status"] == "failed" and res["code"], res
        assert bot.wait_exit(15) == 1
    # What went before the kill was delivered exactly once.
    traffic.check()


@pytest.mark.timeout(90)
def test_cut_during_connect_joins_once_the_link_returns(lab_call):
    call = lab_call(2, clients=3, window=8)
    call.lab.link_down("c3")
    late = call.join("c3", "late", wait=False)
    time.sleep(2.0)
    call.lab.link_up("c3")
    late.wait_for("on_connected", 20)
    call.settle()
    traffic = Traffic(call.bots)
    traffic.round(3)
    traffic.wait_delivered()
    traffic.check()
    assert session_story(late) == CONNECTED
    for bot in call.bots[:2]:
        assert peer_story(bot, late.connection_id) == ["on_connection_created"]
    assert set(call.leave_all().values()) == {0}


@pytest.mark.timeout(90)
def test_link_dead_for_the_whole_connect_fails_clearly(lab_call):
    call = lab_call(1, clients=2, window=8)
    call.lab.link_down("c2")
    started = time.monotonic()
    late = call.join("c2", "late", wait=False)
    code = late.wait_exit(40)
    took = time.monotonic() - started
    assert code == 2, code
    err = late.stderr_text()
    assert "cannot join" in err and "1013" in err, err
    assert took < 25, took  # the connect timeout bounds it
    assert session_story(late) == []
    assert peer_story(call.bots[0], "") == []


@pytest.mark.timeout(120)
def test_cut_in_the_middle_of_a_500_signal_burst(lab_call):
    call = lab_call(3, window=8)
    sender, *others = call.bots
    burst = [f"b:{n}" for n in range(500)]
    sender.signals([(x, x) for x in burst])
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
    assert acked and at_cut < 500, f"the burst was over before the cut ({at_cut} results)"

    for rx in call.bots:
        rx.wait_count("on_signal_received", 500, 40, type="seq", **{"from": sender.connection_id})
    assert_all_sent(sender, burst)
    for rx in call.bots:
        assert_exactly_once_in_order(received_data(rx, sender), burst, f"burst -> {rx.name}")
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
