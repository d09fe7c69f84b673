"""Hot model swap (``server/reload.py``): ``AdminService.ReloadModel`` and SIGHUP swap the newest
checkpoint into a real in-process server over a real embedded graph while Recommend traffic
runs, with no failed call; only an admin key may reload; a broken checkpoint changes nothing."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import grpc
import grpc.aio
import pytest
from server_fakes import NoLinker, RecommendParser, serving
from tiny_checkpoint import save_tiny_checkpoint

from kg import EmbeddedFalkorDB, open_store
from kg.store import GraphStore
from kgrec.v1 import recommender_pb2 as pb
from kgrec.v1 import recommender_pb2_grpc as pb_grpc
from models.explain import make_explainer
from server.apikeys import hash_key, new_key
from server.metrics import METRICS
from server.pipeline import Pipeline
from server.reload import ModelReloader, ModelReloadError, load_model
from server.serve import reload_on_sighup

KEYS = {name: new_key() for name in ("shopper", "ops")}
SCOPES = {"shopper": ("recommend",), "ops": ("admin",)}
API_KEYS = "\n".join(hash_key(KEYS[n], n, SCOPES[n]).line() for n in KEYS)


def _md(name: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {KEYS[name]}"),)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GraphStore]:
    server = EmbeddedFalkorDB(Path(tmp_path_factory.mktemp("reload")) / "g").start()
    st = open_store(server.uri, graph="model-reload")
    st.init_schema()
    st.upsert_products([{"id": f"p{i}", "title": f"Item {i}"} for i in range(4)])
    yield st
    st.close()
    server.stop()


def _pipeline(store: GraphStore, model_dir: Path) -> Pipeline:
    scorer = load_model(model_dir / "ck0")
    return Pipeline(store, RecommendParser(), NoLinker(), make_explainer(), scorer=scorer)  # type: ignore[arg-type]


def _served_version(version: str) -> bool:
    return METRICS.registry.get_sample_value("kgrec_model_info", {"version": version}) == 1.0


async def _code(call: object) -> grpc.StatusCode:
    try:
        await call  # type: ignore[misc]
    except grpc.aio.AioRpcError as e:
        return e.code()
    return grpc.StatusCode.OK


def test_swaps_under_concurrent_recommend_traffic_fail_no_call(
    store: GraphStore, tmp_path: Path
) -> None:
    model_dir = tmp_path / "models"
    versions = ("model-a", "model-b")
    save_tiny_checkpoint(model_dir / "ck0", versions[0], created=1.0)
    pipeline = _pipeline(store, model_dir)
    workers, calls_each, swaps = 8, 40, 6

    async def scenario() -> tuple[list[str], list[BaseException], list[pb.ReloadModelResponse]]:
        async with serving(pipeline, model_dir=str(model_dir)) as served:
            admin = pb_grpc.AdminServiceStub(served.channel)
            seen: list[str] = []
            failed: list[BaseException] = []
            answers: list[pb.ReloadModelResponse] = []

            async def client(w: int) -> None:
                session = ""
                for i in range(calls_each):
                    try:
                        if i % 4 == 3:  # the streaming end chunk names its model too
                            stream = served.stub.RecommendStream(
                                pb.RecommendRequest(user_id="bob", message="more", limit=2)
                            )
                            chunks = [c async for c in stream]
                            seen.append(chunks[-1].end.model_version)
                            continue
                        answer = await served.stub.Recommend(
                            pb.RecommendRequest(
                                user_id="bob" if w % 2 else "", session_id=session,
                                message=f"anything {i}", limit=2,
                            )
                        )  # fmt: skip
                        session = answer.session_id
                        seen.append(answer.model_version)
                    except Exception as e:  # noqa: BLE001 - every failure is counted
                        failed.append(e)

            async def swapper() -> None:
                total = workers * calls_each
                for k in range(1, swaps + 1):
                    # swap after every ~1/(swaps+1) of the traffic: swaps land mid-traffic
                    while len(seen) + len(failed) < k * total // (swaps + 1):
                        await asyncio.sleep(0.005)
                    save_tiny_checkpoint(
                        model_dir / f"ck{k}", versions[k % 2], created=1.0 + k, favourite=k % 2
                    )
                    answers.append(await admin.ReloadModel(pb.ReloadModelRequest()))

            await asyncio.gather(swapper(), *(client(w) for w in range(workers)))
            after = await served.stub.Recommend(pb.RecommendRequest(message="now", limit=2))
            seen.append(after.model_version)
            return seen, failed, answers

    seen, failed, answers = asyncio.run(scenario())
    assert failed == []
    assert len(seen) == workers * calls_each + 1
    assert set(seen) == set(versions)  # both served, nothing else
    # each reload answered the version before and the one after it
    for k, answer in enumerate(answers, start=1):
        assert (answer.previous_version, answer.model_version) == (
            versions[(k - 1) % 2],
            versions[k % 2],
        )
    final = versions[swaps % 2]
    assert seen[-1] == final and pipeline.model_version == final
    assert _served_version(final) and not _served_version(versions[(swaps + 1) % 2])


def test_reload_needs_the_admin_scope(store: GraphStore, tmp_path: Path) -> None:
    model_dir = tmp_path / "models"
    save_tiny_checkpoint(model_dir / "ck0", "old", created=1.0)
    pipeline = _pipeline(store, model_dir)
    save_tiny_checkpoint(model_dir / "ck1", "new", created=2.0)

    async def scenario() -> tuple[grpc.StatusCode, grpc.StatusCode, str, pb.ReloadModelResponse]:
        async with serving(pipeline, api_keys=API_KEYS, model_dir=str(model_dir)) as served:
            admin = pb_grpc.AdminServiceStub(served.channel)
            request = pb.ReloadModelRequest()
            anonymous = await _code(admin.ReloadModel(request))
            shopper = await _code(admin.ReloadModel(request, metadata=_md("shopper")))
            still = pipeline.model_version
            return anonymous, shopper, still, await admin.ReloadModel(request, metadata=_md("ops"))

    anonymous, shopper, still, answer = asyncio.run(scenario())
    assert anonymous == grpc.StatusCode.UNAUTHENTICATED
    assert shopper == grpc.StatusCode.PERMISSION_DENIED
    assert still == "old"  # the refused calls swapped nothing
    assert (answer.previous_version, answer.model_version) == ("old", "new")


@pytest.mark.parametrize("damage", ["corrupt tensors", "wrong shapes", "no meta"])
def test_a_broken_newest_checkpoint_leaves_the_old_model_serving(
    store: GraphStore, tmp_path: Path, damage: str
) -> None:
    model_dir = tmp_path / "models"
    save_tiny_checkpoint(model_dir / "ck0", "good", created=1.0)
    pipeline = _pipeline(store, model_dir)
    if damage == "no meta":  # an empty model dir: nothing to load at all
        model_dir = tmp_path / "empty"
        model_dir.mkdir()
    else:
        broken = save_tiny_checkpoint(model_dir / "ck1", "broken", created=2.0)
        if damage == "corrupt tensors":
            (broken / "embeddings.pt").write_bytes(b"not a torch file")
        else:  # loads, but three item vectors for two item ids cannot score
            import torch

            tensors = torch.load(broken / "embeddings.pt", weights_only=True)
            tensors["items"] = torch.ones(3, 4)
            torch.save(tensors, broken / "embeddings.pt")

    async def scenario() -> tuple[grpc.aio.AioRpcError, str]:
        async with serving(pipeline, model_dir=str(model_dir)) as served:
            admin = pb_grpc.AdminServiceStub(served.channel)
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await admin.ReloadModel(pb.ReloadModelRequest())
            after = await served.stub.Recommend(pb.RecommendRequest(message="hi", limit=2))
            return refused.value, after.model_version

    error, served_version = asyncio.run(scenario())
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "still serving good" in (error.details() or "")
    assert served_version == "good" and pipeline.model_version == "good"
    assert _served_version("good")


def test_sighup_swaps_in_the_newest_checkpoint(store: GraphStore, tmp_path: Path) -> None:
    model_dir = tmp_path / "models"
    save_tiny_checkpoint(model_dir / "ck0", "before-hup", created=1.0)
    pipeline = _pipeline(store, model_dir)
    reloader = ModelReloader(pipeline, model_dir)

    async def scenario() -> list[str]:
        versions = []
        with reload_on_sighup(reloader):
            for k, name in enumerate(("after-hup", "broken"), start=1):
                path = save_tiny_checkpoint(model_dir / f"ck{k}", name, created=1.0 + k)
                if name == "broken":
                    (path / "ids.json").write_text("{")
                os.kill(os.getpid(), signal.SIGHUP)
                for _ in range(500 if name != "broken" else 50):
                    await asyncio.sleep(0.01)
                    if pipeline.model_version == name:
                        break
                versions.append(pipeline.model_version)
        return versions

    # a reload that fails (the broken one) is logged, and the old model keeps serving
    assert asyncio.run(scenario()) == ["after-hup", "after-hup"]


def test_reloader_refuses_an_empty_model_dir(tmp_path: Path, store: GraphStore) -> None:
    save_tiny_checkpoint(tmp_path / "ck0", "only")
    pipeline = _pipeline(store, tmp_path)
    with pytest.raises(ModelReloadError, match="no model checkpoint.*still serving only"):
        ModelReloader(pipeline, tmp_path / "nothing-here").reload_sync()


def test_kgrec_admin_reload_command(
    store: GraphStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from kgrec.cli import main

    model_dir = tmp_path / "models"
    save_tiny_checkpoint(model_dir / "ck0", "v1", created=1.0)
    pipeline = _pipeline(store, model_dir)

    async def scenario() -> list[int]:
        async with serving(pipeline, api_keys=API_KEYS, model_dir=str(model_dir)) as served:
            target = served.target

            def reload(key: str, *more: str) -> int:
                return main(["admin", "reload", "--target", target, "--api-key", key, *more])

            codes = [await asyncio.to_thread(reload, KEYS["shopper"])]  # refused: no swap
            save_tiny_checkpoint(model_dir / "ck1", "v2", created=2.0)
            codes.append(await asyncio.to_thread(reload, KEYS["ops"], "--json"))
            (save_tiny_checkpoint(model_dir / "ck2", "v3", created=3.0) / "meta.json").write_text(
                json.dumps({"version": "v3", "created": 3.0, "config": {"bogus": 1}})
            )  # newest, but its config cannot be read
            codes.append(await asyncio.to_thread(reload, KEYS["ops"]))
            return codes

    codes = asyncio.run(scenario())
    out, err = capsys.readouterr()
    assert codes == [1, 0, 1]
    assert json.loads(out.strip()) == {"previous_version": "v1", "model_version": "v2"}
    assert "PERMISSION_DENIED" in err and "FAILED_PRECONDITION" in err and "still serving v2" in err
    assert pipeline.model_version == "v2"
