import aioice.ice
import pytest

from app.media.ice import addresses_for_server, use_host_addresses


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("ws://127.0.0.1:8765", ["127.0.0.1"]),
        ("wss://localhost:1", ["127.0.0.1"]),
        ("ws://[::1]:8765", ["127.0.0.1"]),
        ("ws://10.77.0.1:8765", None),
        ("wss://call.example.org", None),
    ],
)
def test_loopback_server_means_loopback_media(url, expected):
    assert addresses_for_server(url) == expected


def test_use_host_addresses_replaces_and_restores_discovery():
    try:
        use_host_addresses(["127.0.0.1", "::1"])
        assert aioice.ice.get_host_addresses(True, False) == ["127.0.0.1"]
        assert aioice.ice.get_host_addresses(True, True) == ["127.0.0.1", "::1"]
        with pytest.raises(ValueError):
            use_host_addresses(["not-an-address"])
    finally:
        use_host_addresses(None)
    # Restored to aioice's own discovery (this package's conftest had replaced it).
    assert aioice.ice.get_host_addresses.__module__ == "aioice.ice"


def test_ice_servers_from_the_environment(monkeypatch):
    from app.core.errors import TetherError
    from app.media.engine import MediaEngine
    from app.media.ice import ice_servers_from_environment
    from app.media.signalling import LoopbackHub

    assert ice_servers_from_environment({}) == []
    env = {
        "TETHER_ICE_SERVERS": '[{"urls": "stun:stun.example.org:3478"}, '
        '{"urls": ["turn:turn.example.org:3478?transport=udp"], "username": "u", '
        '"credential": "p"}]'
    }
    stun, turn = ice_servers_from_environment(env)
    assert stun.urls == "stun:stun.example.org:3478" and stun.username is None
    assert turn.urls == ["turn:turn.example.org:3478?transport=udp"]
    assert (turn.username, turn.credential) == ("u", "p")
    for bad in ("not json", '{"urls": "stun:x"}', '[{"urls": "http://x"}]', '[{"user": "u"}]'):
        with pytest.raises(TetherError) as err:
            ice_servers_from_environment({"TETHER_ICE_SERVERS": bad})
        assert err.value.code == 1011 and "TETHER_ICE_SERVERS" in err.value.message
    # The media engine takes them when no configuration is given.
    monkeypatch.setenv("TETHER_ICE_SERVERS", env["TETHER_ICE_SERVERS"])
    engine = MediaEngine(LoopbackHub().endpoint("x"))
    assert [s.urls for s in engine.configuration.iceServers] == [stun.urls, turn.urls]
