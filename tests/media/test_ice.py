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
