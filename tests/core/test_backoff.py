import itertools

from app.core.backoff import as_factory, default_backoff


def test_default_schedule_then_jitter_within_20_percent():
    rng = iter([0.0, 0.999999, 0.5]).__next__
    delays = list(itertools.islice(default_backoff(rng), 7))
    assert delays[:4] == [0.0, 0.25, 0.5, 1.0]
    assert abs(delays[4] - 0.8) < 1e-9
    assert abs(delays[5] - 1.2) < 1e-5
    assert abs(delays[6] - 1.0) < 1e-9


def test_default_never_leaves_the_band():
    for d in itertools.islice(default_backoff(), 4, 2000):
        assert 0.8 <= d <= 1.2


def test_factories():
    f = as_factory([0, 1])
    assert list(f()) == [0.0, 1.0] and list(f()) == [0.0, 1.0]  # a list restarts per outage
    shared = as_factory(iter([0, 1]))
    assert list(shared()) == [0, 1] and list(shared()) == []  # an iterator is used up
    assert as_factory(None) is default_backoff
