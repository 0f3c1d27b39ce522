import pytest

from app.core import protocol as p
from app.core.errors import ErrorCode, TetherError
from app.core.outbox import EntryState, Outbox


def _sig(data="x"):
    return lambda csq: p.Signal(csq=csq, type="chat", data=data)


def test_numbering_and_ack_in_order():
    box = Outbox()
    entries = [box.enqueue(i, "signal", _sig(), retry_after_reconnect=True) for i in (1, 2, 3)]
    assert [e.csq for e in entries] == [1, 2, 3]
    assert [e.message.csq for e in box.take_queued()] == [1, 2, 3]
    assert box.take_queued() == []
    assert box.ack(2).state is EntryState.ACKED
    assert box.ack(2) is None  # a second ack for the same csq is ignored
    assert [e.csq for e in box.entries()] == [1, 3]


def test_resumed_requeues_or_fails_by_retry_flag_and_settle_marks_processed():
    box = Outbox()
    box.enqueue(1, "signal", _sig(), retry_after_reconnect=True)
    box.enqueue(2, "signal", _sig(), retry_after_reconnect=False)
    box.enqueue(3, "signal", _sig(), retry_after_reconnect=True)
    box.enqueue(4, "signal", _sig(), retry_after_reconnect=False)
    box.take_queued()
    failed = box.resumed(last_csq=2)
    assert [(e.csq, e.code) for e in failed] == [(4, ErrorCode.NOT_CONNECTED)]
    assert [e.csq for e in box.take_queued()] == [3]
    assert [e.csq for e in box.settle(last_csq=2)] == [1, 2]
    assert [e.csq for e in box.entries()] == [3]


def test_overflow_by_count_is_an_error_and_numbers_nothing():
    box = Outbox(max_pending=2)
    box.enqueue(1, "signal", _sig(), retry_after_reconnect=True)
    box.enqueue(2, "signal", _sig(), retry_after_reconnect=True)
    with pytest.raises(TetherError) as err:
        box.enqueue(3, "signal", _sig(), retry_after_reconnect=True)
    assert err.value.code is ErrorCode.SIGNAL_QUEUE_FULL
    assert box.pending == 2 and box.next_csq == 3


def test_overflow_by_bytes():
    box = Outbox(max_bytes=10_000)
    box.enqueue(1, "signal", _sig("a" * 6000), retry_after_reconnect=True)
    with pytest.raises(TetherError) as err:
        box.enqueue(2, "signal", _sig("b" * 6000), retry_after_reconnect=True)
    assert err.value.code is ErrorCode.SIGNAL_QUEUE_FULL
    box.ack(1)
    assert box.pending_bytes == 0
    box.enqueue(2, "signal", _sig("b" * 6000), retry_after_reconnect=True)


def test_fail_all_in_order_with_reason():
    box = Outbox()
    for i in (1, 2, 3):
        box.enqueue(i, "signal", _sig(), retry_after_reconnect=True)
    out = box.fail_all(ErrorCode.SIGNAL_NOT_SENT, "network_disconnected")
    assert [(e.csq, e.code, e.reason) for e in out] == [
        (i, ErrorCode.SIGNAL_NOT_SENT, "network_disconnected") for i in (1, 2, 3)
    ]
    assert box.pending == 0 and box.pending_bytes == 0
