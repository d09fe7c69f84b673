"""``kgrec serve`` settings reach the pipeline: the LLM reply rewrite end to end, in process,
on a small demo store with the real ``llm-remote`` backend talking to a loopback endpoint."""

from __future__ import annotations

from pathlib import Path

import pytest

from kgrec.domain import RecommendQuery
from kgrec.errors import ConfigError
from models.explain import LLMRewriteExplainer
from server.serve import build_runtime
from server.settings import Settings
from tests.fake_llm_endpoint import llm_endpoint

pytestmark = pytest.mark.slow


def test_llm_rewrite_is_served_when_faithful_and_dropped_when_not(tmp_path: Path) -> None:
    with llm_endpoint() as (state, url):
        settings = Settings().replace(
            data_dir=tmp_path,
            demo_products=300,
            demo_users=30,
            train_model=False,
            token_table=False,
            explainer="llm-rewrite",
            llm_endpoint_url=url,
        )
        runtime = build_runtime(settings)
        try:
            assert isinstance(runtime.pipeline.explainer, LLMRewriteExplainer)
            query = RecommendQuery(message="running shoes", limit=3)
            template = runtime.pipeline.recommend_sync(query)  # endpoint says "": rejected
            top = template.items[0].title
            state.reply = f"My pick for you: {top}. It fits what you asked."
            rewritten = runtime.pipeline.recommend_sync(query)
            assert rewritten.items[0].title == top and rewritten.reply == state.reply
            assert template.reply != state.reply and top in template.reply
            assert len(state.requests) == 2
        finally:
            runtime.close()


def test_unknown_explainer_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="explainer"):
        Settings().replace(explainer="poetry")
