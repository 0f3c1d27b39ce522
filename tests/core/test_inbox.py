from app.core.inbox import Inbox


def test_duplicates_dropped_and_outside_story_passes():
    inbox = Inbox()
    assert [inbox.accept(s) for s in (1, 2, 2, 1, 3, 0, 0, 3)] == [
        True,
        True,
        False,
        False,
        True,
        True,
        True,
        False,
    ]
    assert inbox.last_seq == 3
    assert inbox.duplicates == 3


def test_gap_is_counted_not_stalled():
    inbox = Inbox()
    assert inbox.accept(1) and inbox.accept(5)
    assert inbox.gaps == 1 and inbox.last_seq == 5
