import aioice.ice
import pytest


@pytest.fixture(autouse=True)
def loopback_ice(monkeypatch):
    """Make aioice offer 127.0.0.1 (it leaves loopback out) so media stays on this host."""
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])
