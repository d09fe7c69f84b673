"""API keys and scopes through a real in-process server on loopback: the key file, the status
each caller gets, where the server may listen without keys. TLS is in ``test_tls.py``.
"""

from __future__ import annotations

import asyncio
import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
import pytest
from auth_keys import (
    API_KEYS,
    DENIED,
    FEEDBACK,
    KEYS,
    OK,
    RECOMMEND,
    UNAUTHENTICATED,
    WRONG_KEY,
)
from grpc_health.v1 import health_pb2, health_pb2_grpc
from server_fakes import FakePipeline, serving

from kgrec.domain import FeedbackEvent, FeedbackResult, Recommendation, RecommendQuery
from kgrec.errors import ConfigError
from kgrec.v1 import recommender_pb2_grpc as pb_grpc
from server.apikeys import KeyRing, hash_key, parse_line
from server.app import start_server
from server.auth import (
    AuthInterceptor,
    Principal,
    current_principal,
    is_loopback,
    presented_key,
    scope_for,
)
from server.interceptors import ExceptionMappingInterceptor, RequestIdInterceptor
from server.settings import Settings

# --- keys and their configured form ------------------------------------------------------


def test_a_key_is_found_by_its_hash_and_only_by_it() -> None:
    ring = KeyRing.parse(API_KEYS)
    assert [(e.key_id, e.scopes) for e in ring.entries][0] == ("shopper", {"recommend"})
    assert ring.find(KEYS["tracker"]).key_id == "tracker"  # type: ignore[union-attr]
    assert ring.find(WRONG_KEY) is None
    assert ring.find(KEYS["tracker"][:-1]) is None
    assert ring.find("") is None
    # the config holds no key, only salted digests: the same key hashes differently each time
    assert KEYS["shopper"] not in API_KEYS
    assert (
        hash_key(KEYS["ops"], "a", ["admin"]).digest != hash_key(KEYS["ops"], "a", ["admin"]).digest
    )


def test_a_line_round_trips() -> None:
    entry = hash_key(KEYS["all"], "svc-1", ["feedback", "recommend"])
    assert parse_line(entry.line()) == entry
    assert entry.line().startswith("svc-1:recommend,feedback:sha256:")


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        (KEYS["shopper"], "plaintext key"),
        ("a:recommend:md5:00:00", "is not ID:SCOPES:sha256"),
        ("a:recommend:sha256:zz:00", "hex"),
        ("a:shopping:sha256:" + "0" * 32 + ":" + "0" * 64, "shopping"),
        ("a::sha256:" + "0" * 32 + ":" + "0" * 64, "at least one"),
        ("a b:recommend:sha256:" + "0" * 32 + ":" + "0" * 64, "key id"),
        (API_KEYS.splitlines()[0] + "\n" + API_KEYS.splitlines()[0], "appears twice"),
    ],
)
def test_bad_api_keys_are_config_errors(text: str, complaint: str) -> None:
    with pytest.raises(ConfigError, match=complaint):
        Settings.load(env={"KGREC_API_KEYS": text})


def test_api_keys_from_a_toml_list_and_comments(tmp_path: Path) -> None:
    lines = API_KEYS.splitlines()
    config = tmp_path / "kgrec.toml"
    config.write_text(
        f'[kgrec]\nhost = "0.0.0.0"\napi_keys = ["# ops", "{lines[2]}", "{lines[0]}"]\n'
    )
    settings = Settings.load(env={"KGREC_CONFIG": str(config)})
    assert [e.key_id for e in KeyRing.parse(settings.api_keys).entries] == ["ops", "shopper"]
    assert KEYS["ops"] not in repr(settings) and lines[0] not in repr(settings)


def test_keys_new_prints_a_key_and_a_line_that_accepts_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from kgrec.cli import main

    assert main(["keys", "new", "--id", "web", "--scopes", "recommend,feedback"]) == 0
    out = capsys.readouterr().out.splitlines()
    key = out[0].rsplit(" ", 1)[1]
    entry = KeyRing.parse(out[-1]).find(key)
    assert entry is not None and (entry.key_id, entry.scopes) == ("web", {"recommend", "feedback"})
    assert key not in out[-1]


def test_keys_hash_refuses_a_short_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from kgrec.cli import main

    monkeypatch.setattr("sys.stdin", io.StringIO("hunter2\n"))
    assert main(["keys", "hash", "--id", "x"]) == 2
    assert "at least 32" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO(KEYS["ops"] + "\n"))
    assert main(["keys", "hash", "--id", "x", "--scopes", "admin"]) == 0
    assert KeyRing.parse(capsys.readouterr().out).find(KEYS["ops"]) is not None


def test_presented_key_and_scope_table() -> None:
    assert presented_key([("authorization", "Bearer abc ")]) == "abc"
    assert presented_key([("authorization", "bearer abc")]) == "abc"
    assert presented_key([("x-api-key", "xyz")]) == "xyz"
    assert presented_key([("authorization", "Basic Zm9v")]) is None
    assert presented_key([("x-request-id", "r1")]) is None
    assert presented_key(None) is None
    assert scope_for("/kgrec.v1.RecommenderService/Recommend") == "recommend"
    assert scope_for("/kgrec.v1.RecommenderService/RecommendStream") == "recommend"
    assert scope_for("/kgrec.v1.RecommenderService/Feedback") == "feedback"
    # anything else in kgrec.v1 (a future ForgetUser) is admin-only by default
    assert scope_for("/kgrec.v1.AdminService/ForgetUser") == "admin"


# --- the status each caller gets ------------------------------------------------------------


def _metadata(key: str | None, header: str = "authorization") -> tuple[tuple[str, str], ...]:
    if key is None:
        return ()
    return ((header, f"Bearer {key}" if header == "authorization" else key),)


async def _code(call: Any) -> grpc.StatusCode:
    try:
        result = call
        if hasattr(result, "__aiter__"):
            async for _ in result:
                pass
        else:
            await result
    except grpc.aio.AioRpcError as e:
        return e.code()
    return OK


#: (caller, expected status of Recommend, RecommendStream, Feedback)
MATRIX = [
    (None, UNAUTHENTICATED, UNAUTHENTICATED, UNAUTHENTICATED),
    ("wrong", UNAUTHENTICATED, UNAUTHENTICATED, UNAUTHENTICATED),
    ("shopper", OK, OK, DENIED),
    ("tracker", DENIED, DENIED, OK),
    ("ops", DENIED, DENIED, DENIED),  # admin does not imply the others
    ("all", OK, OK, OK),
]


@pytest.mark.parametrize("header", ["authorization", "x-api-key"])
def test_each_caller_gets_the_right_status(header: str) -> None:
    async def scenario() -> list[tuple[Any, ...]]:
        fake = FakePipeline()
        got = []
        async with serving(fake, api_keys=API_KEYS) as served:
            for caller, *_ in MATRIX:
                key = None if caller is None else WRONG_KEY if caller == "wrong" else KEYS[caller]
                md = _metadata(key, header)
                got.append(
                    (
                        caller,
                        await _code(served.stub.Recommend(RECOMMEND, metadata=md)),
                        await _code(served.stub.RecommendStream(RECOMMEND, metadata=md)),
                        await _code(served.stub.Feedback(FEEDBACK, metadata=md)),
                    )
                )
        # rejected calls never reached the pipeline
        assert (len(fake.queries), len(fake.events)) == (4, 2)
        return got

    assert asyncio.run(scenario()) == MATRIX


def test_rejections_say_why_without_echoing_the_key() -> None:
    async def scenario() -> list[str]:
        async with serving(FakePipeline(), api_keys=API_KEYS) as served:
            details = []
            for md in (_metadata(None), _metadata(WRONG_KEY), _metadata(KEYS["tracker"])):
                with pytest.raises(grpc.aio.AioRpcError) as exc:
                    await served.stub.Recommend(RECOMMEND, metadata=md)
                details.append(exc.value.details())
            return details

    missing, unknown, denied = asyncio.run(scenario())
    assert "missing API key" in missing and "authorization: Bearer" in missing
    assert unknown == "unknown API key"
    assert denied == "API key 'tracker' lacks the 'recommend' scope this call needs"


def test_health_and_reflection_stay_open() -> None:
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    async def scenario() -> tuple[int, list[str]]:
        async with serving(FakePipeline(), api_keys=API_KEYS) as served:
            health = health_pb2_grpc.HealthStub(served.channel)
            status = await health.Check(health_pb2.HealthCheckRequest(service=""))
            refl = reflection_pb2_grpc.ServerReflectionStub(served.channel)
            names: list[str] = []
            async for r in refl.ServerReflectionInfo(
                iter([reflection_pb2.ServerReflectionRequest(list_services="")])
            ):
                names += [s.name for s in r.list_services_response.service]
            return status.status, names

    status, names = asyncio.run(scenario())
    assert status in (
        health_pb2.HealthCheckResponse.SERVING,
        health_pb2.HealthCheckResponse.NOT_SERVING,
    )
    assert "kgrec.v1.RecommenderService" in names


@dataclass
class _RecordingPipeline(FakePipeline):
    principals: list[Principal | None] | None = None

    async def recommend(self, query: RecommendQuery) -> Recommendation:
        assert self.principals is not None
        self.principals.append(current_principal())
        return await super().recommend(query)

    async def feedback(self, event: FeedbackEvent) -> FeedbackResult:
        assert self.principals is not None
        self.principals.append(current_principal())
        return await super().feedback(event)


def test_the_pipeline_sees_the_callers_key_id() -> None:
    async def scenario(api_keys: str) -> list[Any]:
        fake = _RecordingPipeline(principals=[])
        async with serving(fake, api_keys=api_keys) as served:
            md = _metadata(KEYS["all"])
            await served.stub.Recommend(RECOMMEND, metadata=md)
            await served.stub.Feedback(FEEDBACK, metadata=md)
            await served.stub.Recommend(RECOMMEND, metadata=_metadata(KEYS["shopper"]))
        assert fake.principals is not None
        return [p and p.key_id for p in fake.principals]

    assert asyncio.run(scenario(API_KEYS)) == ["all", "all", "shopper"]
    assert asyncio.run(scenario("")) == [None, None, None]  # auth off (loopback)


def test_an_admin_rpc_needs_the_admin_scope() -> None:
    """No admin RPC exists yet; a stand-in one in kgrec.v1 shows the default scope applies."""
    method = "/kgrec.v1.AdminService/Ping"

    async def ping(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        principal = current_principal()
        return (principal.key_id if principal else "").encode()

    handler = grpc.method_handlers_generic_handler(
        "kgrec.v1.AdminService", {"Ping": grpc.unary_unary_rpc_method_handler(ping)}
    )

    async def scenario() -> list[Any]:
        server = grpc.aio.server(
            interceptors=[
                RequestIdInterceptor(),
                AuthInterceptor(KeyRing.parse(API_KEYS)),
                ExceptionMappingInterceptor(),
            ]
        )
        server.add_generic_rpc_handlers((handler,))
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        got: list[Any] = []
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                call = channel.unary_unary(method)
                for caller in (None, "wrong", "shopper", "tracker", "ops", "all"):
                    key = (
                        None if caller is None else WRONG_KEY if caller == "wrong" else KEYS[caller]
                    )
                    try:
                        got.append(await call(b"", metadata=_metadata(key)))
                    except grpc.aio.AioRpcError as e:
                        got.append(e.code())
        finally:
            await server.stop(0)
        return got

    assert asyncio.run(scenario()) == [
        UNAUTHENTICATED,
        UNAUTHENTICATED,
        DENIED,
        DENIED,
        b"ops",
        b"all",
    ]


# --- where the server may listen without keys -------------------------------------------------


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.0.0.5", False),
        ("example.com", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_a_public_bind_without_keys_refuses_to_start() -> None:
    with pytest.raises(ConfigError, match="not a loopback address.*--insecure"):
        Settings.load(env={"KGREC_HOST": "0.0.0.0"})

    async def scenario() -> None:
        await start_server(Settings(host="0.0.0.0", port=0), FakePipeline())

    with pytest.raises(ConfigError, match="no api_keys"):
        asyncio.run(scenario())
    # with keys it validates, and so it does on loopback without keys
    Settings.load(env={"KGREC_HOST": "0.0.0.0", "KGREC_API_KEYS": API_KEYS})
    Settings.load(env={"KGREC_HOST": "127.0.0.1"})


def test_insecure_starts_without_keys_and_warns(caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings.load(
        env={"KGREC_HOST": "0.0.0.0", "KGREC_PORT": "0", "KGREC_INSECURE": "1"}
    )
    assert settings.insecure

    async def scenario() -> grpc.StatusCode:
        running = await start_server(settings, FakePipeline())
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
                stub = pb_grpc.RecommenderServiceStub(channel)
                return await _code(stub.Recommend(RECOMMEND))
        finally:
            await running.stop(0)

    with caplog.at_level(logging.WARNING, logger="server.auth"):
        assert asyncio.run(scenario()) == OK
    assert "authentication is off on 0.0.0.0:0 (--insecure)" in caplog.text


def test_loopback_without_keys_warns(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        async with serving(FakePipeline()):
            pass

    with caplog.at_level(logging.WARNING, logger="server.auth"):
        asyncio.run(scenario())
    assert "authentication is off (no api_keys)" in caplog.text


def test_the_insecure_flag_parses() -> None:
    import argparse

    from server.settings import add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--host", "0.0.0.0", "--insecure"])
    assert Settings.load(args, env={}).insecure
