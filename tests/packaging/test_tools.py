"""The frozen command-line tools: session, token (secret from env or the XDG config), cert."""

from __future__ import annotations

import base64
import json

from tests.packaging.frozen import Frozen

SECRET = "packaging-test-secret-0123456789abcdef"


def _claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_session_prints_a_session_id(frozen: Frozen) -> None:
    result = frozen.run("session")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ses_")


def test_token_with_the_secret_from_the_environment(frozen: Frozen) -> None:
    result = frozen.run(
        "token", "--session", "ses_pack", "--data", "Ada", env={"TETHER_SECRET": SECRET}
    )
    assert result.returncode == 0, result.stderr
    claims = _claims(result.stdout.strip())
    assert (claims["sid"], claims["data"], claims["role"]) == ("ses_pack", "Ada", "publisher")


def test_token_reads_the_secret_from_the_xdg_config_file(frozen: Frozen) -> None:
    config = frozen.config_home / "tether" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'secret = "{SECRET}"\n')
    result = frozen.run("token", "--new-session")
    assert result.returncode == 0, result.stderr
    assert _claims(result.stdout.strip())["sid"].startswith("ses_")


def test_token_without_a_secret_says_where_to_put_one(frozen: Frozen) -> None:
    result = frozen.run("token", "--new-session")
    assert result.returncode == 2
    assert str(frozen.config_home / "tether" / "config.toml") in result.stderr
    assert "Traceback" not in result.stderr


def test_cert_writes_a_development_certificate(frozen: Frozen) -> None:
    out = frozen.home / "certs"
    result = frozen.run("cert", "--out", str(out), "--host", "127.0.0.1")
    assert result.returncode == 0, result.stderr
    assert (out / "tether-dev.crt").read_text().startswith("-----BEGIN CERTIFICATE-----")
    assert (out / "tether-dev.key").stat().st_mode & 0o077 == 0
