"""``AdminService.ForgetUser`` through a real in-process server with API keys over a real
embedded graph and a real (tiny) checkpoint: only an ``admin`` key may call it, and after it
the user's events, sessions, user node and profile vector are gone while others' stay."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import grpc
import grpc.aio
import pytest
from server_fakes import FakePipeline, NoLinker, RecommendParser, serving
from tiny_checkpoint import save_tiny_checkpoint

from kg import EmbeddedFalkorDB, open_store
from kg.store import GraphStore
from kg.types import UserDataCounts
from kgrec.v1 import recommender_pb2 as pb
from kgrec.v1 import recommender_pb2_grpc as pb_grpc
from models.explain import make_explainer
from models.training.checkpoint import Checkpoint
from server.apikeys import hash_key, new_key
from server.pipeline import Pipeline

KEYS = {name: new_key() for name in ("shopper", "tracker", "ops")}
SCOPES = {"shopper": ("recommend",), "tracker": ("feedback",), "ops": ("admin",)}
API_KEYS = "\n".join(hash_key(KEYS[n], n, SCOPES[n]).line() for n in KEYS)


def _md(name: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {KEYS[name]}"),)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[GraphStore]:
    server = EmbeddedFalkorDB(tmp_path / "g").start()
    st = open_store(server.uri, graph="admin-rpc")
    st.init_schema()
    st.upsert_products([{"id": f"p{i}", "title": f"Item {i}"} for i in range(4)])
    yield st
    st.close()
    server.stop()


async def _code(call: object) -> grpc.StatusCode:
    try:
        await call  # type: ignore[misc]
    except grpc.aio.AioRpcError as e:
        return e.code()
    return grpc.StatusCode.OK


def test_forget_user_needs_the_admin_scope_and_leaves_nothing(
    store: GraphStore, tmp_path: Path
) -> None:
    model_dir = tmp_path / "models"
    save_tiny_checkpoint(model_dir / "v1")
    pipeline = Pipeline(store, RecommendParser(), NoLinker(), make_explainer())  # type: ignore[arg-type]

    async def scenario() -> pb.ForgetUserResponse:
        async with serving(pipeline, api_keys=API_KEYS, model_dir=str(model_dir)) as served:
            admin = pb_grpc.AdminServiceStub(served.channel)
            for user in ("alice", "alice", "bob"):  # two sessions of alice's, one of bob's
                turn = await served.stub.Recommend(
                    pb.RecommendRequest(user_id=user, message="anything", limit=2),
                    metadata=_md("shopper"),
                )
                await served.stub.Feedback(
                    pb.FeedbackRequest(
                        user_id=user,
                        session_id=turn.session_id,
                        item_id=turn.items[0].item_id,
                        event_type=pb.EVENT_TYPE_PURCHASE,
                    ),
                    metadata=_md("tracker"),
                )
            assert store.user_data_counts("alice") == UserDataCounts(events=2, sessions=2, users=1)
            request = pb.ForgetUserRequest(user_id="alice")
            # no key, a recommend key, a feedback key: refused, and nothing deleted
            assert await _code(admin.ForgetUser(request)) == grpc.StatusCode.UNAUTHENTICATED
            for name in ("shopper", "tracker"):
                code = await _code(admin.ForgetUser(request, metadata=_md(name)))
                assert code == grpc.StatusCode.PERMISSION_DENIED
            assert store.user_data_counts("alice") == UserDataCounts(events=2, sessions=2, users=1)
            # a bad user id is INVALID_ARGUMENT, not a deletion of something else
            bad = await _code(
                admin.ForgetUser(pb.ForgetUserRequest(user_id=""), metadata=_md("ops"))
            )
            assert bad == grpc.StatusCode.INVALID_ARGUMENT
            return await admin.ForgetUser(request, metadata=_md("ops"))

    answer = asyncio.run(scenario())
    deleted = answer.deleted
    assert (deleted.events, deleted.sessions, deleted.users, deleted.profile_vectors) == (
        2,
        2,
        1,
        1,
    )
    zero = pb.UserDataCounts()
    assert answer.remaining == zero
    # looked at independently of the RPC: alice is gone, bob is untouched
    assert store.user_data_counts("alice") == UserDataCounts()
    assert store.user_events("alice") == []
    assert store.user_data_counts("bob") == UserDataCounts(events=1, sessions=1, users=1)
    ckpt = Checkpoint.load(model_dir / "v1")
    assert "alice" not in ckpt.user_ids and "bob" in ckpt.user_ids


def test_without_a_graph_store_forget_user_is_unimplemented() -> None:
    """A pipeline with no ``store`` (a test fake) gets no AdminService at all."""

    async def scenario() -> grpc.StatusCode:
        async with serving(FakePipeline(), api_keys=API_KEYS) as served:
            admin = pb_grpc.AdminServiceStub(served.channel)
            request = pb.ForgetUserRequest(user_id="alice")
            return await _code(admin.ForgetUser(request, metadata=_md("ops")))

    assert asyncio.run(scenario()) == grpc.StatusCode.UNIMPLEMENTED
