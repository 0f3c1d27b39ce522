import pytest

from app.ui.invite import AddressError, Invite, make_invite, normalize_server, parse_invite

TOKEN = "aaa.bbb.ccc"


def test_round_trip():
    link = make_invite("ws://127.0.0.1:8765", TOKEN)
    assert link.startswith("tether://join?")
    assert parse_invite(link) == Invite("ws://127.0.0.1:8765", TOKEN)


@pytest.mark.parametrize(
    ("link", "server"),
    [
        (f"http://host:8765/?token={TOKEN}", "ws://host:8765/"),
        (f"https://calls.example/room#token={TOKEN}", "wss://calls.example/room"),
        (f"wss://calls.example?token={TOKEN}", "wss://calls.example"),
        (f"tether://join?server=host%3A9000&token={TOKEN}", "ws://host:9000"),
    ],
)
def test_web_style_links(link, server):
    assert parse_invite(link) == Invite(server, TOKEN)


@pytest.mark.parametrize("text", ["", TOKEN, "ws://host:1", "tether://join?token=&server=x"])
def test_not_an_invite(text):
    assert parse_invite(text) is None


def test_normalize_server():
    assert normalize_server(" 127.0.0.1:8765 ") == "ws://127.0.0.1:8765"
    assert normalize_server("https://h") == "wss://h"
    for bad in ["", "ftp://h", "ws://", "ws://h:99999999"]:
        with pytest.raises(AddressError):
            normalize_server(bad)
