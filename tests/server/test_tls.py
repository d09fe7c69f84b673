"""TLS and mutual TLS through a real in-process server on loopback, and ``kgrec chat``'s key
and TLS options.

Certificates are generated here (a CA, a server certificate for 127.0.0.1 / localhost, client
certificates from that CA and from a stranger's CA) with ``cryptography``.
"""

from __future__ import annotations

import asyncio
import datetime
import io
import ipaddress
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
import pytest
from auth_keys import API_KEYS, KEYS, OK, RECOMMEND, UNAUTHENTICATED
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from server_fakes import FakePipeline, serving

from kgrec import chat
from kgrec.client import open_channel
from kgrec.errors import ConfigError
from kgrec.v1 import recommender_pb2_grpc as pb_grpc
from server.app import start_server
from server.settings import Settings

# --- TLS and mutual TLS -----------------------------------------------------------------------


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[str, ec.EllipticCurvePrivateKey] | None,
    *,
    ca: bool = False,
    sans: Sequence[x509.GeneralName] = (),
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    issuer_name, issuer_key = issuer or (subject, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(list(sans)), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _write(
    path: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey | None = None
) -> None:
    path.with_suffix(".crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    if key is not None:
        path.with_suffix(".key").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ca.crt; server.crt/.key (127.0.0.1, localhost); client.crt/.key from the CA;
    stranger.crt/.key from another CA."""
    root = tmp_path_factory.mktemp("pki")
    ca_key, other_ca_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    _write(root / "ca", _cert("kgrec test CA", ca_key, None, ca=True))
    server_key = ec.generate_private_key(ec.SECP256R1())
    sans = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    _write(
        root / "server",
        _cert("localhost", server_key, ("kgrec test CA", ca_key), sans=sans),
        server_key,
    )
    client_key = ec.generate_private_key(ec.SECP256R1())
    _write(
        root / "client", _cert("shop-frontend", client_key, ("kgrec test CA", ca_key)), client_key
    )
    stranger_key = ec.generate_private_key(ec.SECP256R1())
    _write(
        root / "stranger", _cert("stranger", stranger_key, ("other CA", other_ca_key)), stranger_key
    )
    return root


def _tls_settings(pki: Path, *, mutual: bool) -> dict[str, str]:
    settings = {"tls_cert": str(pki / "server.crt"), "tls_key": str(pki / "server.key")}
    if mutual:
        settings["tls_client_ca"] = str(pki / "ca.crt")
    return settings


def _call_over(target: str, **channel: Any) -> grpc.StatusCode:
    """A Recommend from a sync client (in a thread; the server runs on this loop)."""
    with open_channel(target, **channel) as ch:
        try:
            pb_grpc.RecommenderServiceStub(ch).Recommend(RECOMMEND, timeout=5)
        except grpc.RpcError as e:
            return e.code()  # type: ignore[no-any-return]
    return OK


def _statuses(
    overrides: dict[str, str], clients: dict[str, dict[str, Any]]
) -> dict[str, grpc.StatusCode]:
    async def scenario() -> dict[str, grpc.StatusCode]:
        async with serving(FakePipeline(), **overrides) as served:
            target = f"localhost:{served.running.port}"
            return {
                name: await asyncio.to_thread(_call_over, target, **channel)
                for name, channel in clients.items()
            }

    return asyncio.run(scenario())


def test_tls_serves_a_client_that_trusts_the_ca_and_not_a_plaintext_one(pki: Path) -> None:
    ca = str(pki / "ca.crt")
    got = _statuses(
        _tls_settings(pki, mutual=False) | {"api_keys": API_KEYS},
        {
            "tls + key": {"tls_ca": ca, "api_key": KEYS["shopper"]},
            "tls, no key": {"tls_ca": ca},
            "plaintext + key": {"api_key": KEYS["shopper"]},
        },
    )
    assert got == {
        "tls + key": OK,
        "tls, no key": UNAUTHENTICATED,
        "plaintext + key": grpc.StatusCode.UNAVAILABLE,
    }


def test_mutual_tls_needs_a_client_certificate_from_the_ca(pki: Path) -> None:
    ca = str(pki / "ca.crt")
    got = _statuses(
        _tls_settings(pki, mutual=True),
        {
            "client cert": {
                "tls_ca": ca,
                "tls_cert": str(pki / "client.crt"),
                "tls_key": str(pki / "client.key"),
            },
            "no cert": {"tls_ca": ca},
            "stranger's cert": {
                "tls_ca": ca,
                "tls_cert": str(pki / "stranger.crt"),
                "tls_key": str(pki / "stranger.key"),
            },
        },
    )
    assert got == {
        "client cert": OK,
        "no cert": grpc.StatusCode.UNAVAILABLE,
        "stranger's cert": grpc.StatusCode.UNAVAILABLE,
    }


@pytest.mark.parametrize(
    ("overrides", "complaint"),
    [
        ({"tls_cert": "server.crt"}, "give both"),
        ({"tls_client_ca": "ca.crt"}, "needs tls_cert"),
        ({"tls_cert": "missing.crt", "tls_key": "server.key"}, "tls_cert: cannot read"),
        (
            {"tls_cert": "server.crt", "tls_key": "server.crt", "tls_client_ca": "nothing.txt"},
            "not a PEM",
        ),
    ],
)
def test_tls_settings_errors(pki: Path, overrides: dict[str, str], complaint: str) -> None:
    (pki / "nothing.txt").write_text("hello")
    absolute = {k: str(pki / v) for k, v in overrides.items()}

    async def scenario() -> None:
        settings = Settings(port=0).replace(**absolute)
        await start_server(settings, FakePipeline())

    with pytest.raises(ConfigError, match=complaint):
        asyncio.run(scenario())


# --- kgrec chat ---------------------------------------------------------------------------------


def _chat(overrides: dict[str, str], *argv: str) -> str:
    async def scenario() -> str:
        async with serving(FakePipeline(), **overrides) as served:
            out = io.StringIO()
            args = ["--target", f"localhost:{served.running.port}", "--timeout", "5", *argv]
            await asyncio.to_thread(
                chat.main, args, stdin=io.StringIO("red shoes\n:like 1\n"), stdout=out
            )
            return out.getvalue()

    return asyncio.run(scenario())


def test_chat_passes_the_key_and_tls_options(pki: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    keyed = {"api_keys": API_KEYS}
    assert "error: UNAUTHENTICATED: missing API key" in _chat(keyed)
    out = _chat(keyed, "--api-key", KEYS["all"])
    assert "bot> " in out and "ok: like 'Acme Runner 1'" in out
    assert "error: PERMISSION_DENIED: API key 'shopper' lacks the 'feedback'" in _chat(
        keyed, "--api-key", KEYS["shopper"]
    )
    monkeypatch.setenv("KGREC_API_KEY", KEYS["all"])  # read when the parser is built
    tls = keyed | _tls_settings(pki, mutual=True)
    out = _chat(
        tls,
        "--tls-ca",
        str(pki / "ca.crt"),
        "--tls-cert",
        str(pki / "client.crt"),
        "--tls-key",
        str(pki / "client.key"),
    )
    assert "ok: like 'Acme Runner 1'" in out


def test_the_start_banner_shows_how_to_pass_key_and_ca(capsys: pytest.CaptureFixture[str]) -> None:
    from types import SimpleNamespace

    from server.serve import _announce

    _announce(Settings(), SimpleNamespace(port=5))  # type: ignore[arg-type]
    plain = capsys.readouterr().out
    assert "grpcurl -plaintext -d" in plain and "Bearer" not in plain
    _announce(
        Settings(api_keys=API_KEYS, tls_cert="s.crt", tls_key="s.key"), SimpleNamespace(port=5)
    )  # type: ignore[arg-type]
    keyed = capsys.readouterr().out
    assert "kgrec chat --target localhost:5 --tls-ca CA.pem" in keyed
    assert 'grpcurl -cacert CA.pem -H "authorization: Bearer $KGREC_API_KEY" -d' in keyed
    assert KEYS["shopper"] not in keyed


def test_client_certificate_options_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="give both"):
        open_channel("localhost:1", tls_cert=str(tmp_path / "c.crt"))
    with pytest.raises(ConfigError, match="--tls-ca: cannot read"):
        open_channel("localhost:1", tls_ca=str(tmp_path / "missing.crt"))
