"""Settings layering: defaults -> TOML -> environment -> flags; secrets from env only."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from kgrec.errors import ConfigError
from server.settings import Settings, add_arguments


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(list(argv))


def test_defaults() -> None:
    s = Settings.load(_parse(), env={})
    assert (s.host, s.port, s.data_dir, s.graph_uri, s.graph_name) == (
        "127.0.0.1",
        50051,
        Path("var/kgrec"),
        "",
        "kgrec",
    )
    assert (s.demo, s.demo_products, s.demo_users, s.seed) == (True, 6000, 2500, 7)
    assert (s.intent_backend, s.max_message_chars, s.max_in_flight) == ("embedded", 2000, 64)
    assert (s.grace_seconds, s.log_level) == (10.0, "INFO")
    assert s.models_path == Path("var/kgrec/models")


def test_each_layer_overrides_the_one_below(tmp_path: Path) -> None:
    config = tmp_path / "kgrec.toml"
    config.write_text(
        'port = 6000\nhost = "0.0.0.0"\ndemo = false\ngraph_name = "from-file"\n'
        'grace_seconds = 3\nmodel_dir = "/models"\ninsecure = true\n'  # 0.0.0.0, no api_keys
    )
    env = {"KGREC_CONFIG": str(config), "KGREC_PORT": "7000", "KGREC_GRAPH_NAME": "from-env"}
    s = Settings.load(_parse("--port", "8000"), env=env)
    assert s.port == 8000  # flag > env > file
    assert s.graph_name == "from-env"  # env > file
    assert (s.host, s.demo, s.grace_seconds) == ("0.0.0.0", False, 3.0)  # file > default
    assert s.models_path == Path("/models")
    assert s.max_in_flight == 64  # default shows through
    # --config beats $KGREC_CONFIG; a boolean flag beats the file
    other = tmp_path / "other.toml"
    other.write_text("[kgrec]\nport = 6100\n")
    s = Settings.load(_parse("--config", str(other), "--demo"), env={"KGREC_CONFIG": str(config)})
    assert (s.port, s.demo) == (6100, True)


def test_env_booleans_and_log_level_case() -> None:
    s = Settings.load(None, env={"KGREC_DEMO": "off", "KGREC_LOG_LEVEL": "debug"})
    assert (s.demo, s.log_level) == (False, "DEBUG")


def test_secret_only_from_environment(tmp_path: Path) -> None:
    s = Settings.load(_parse(), env={"NEO4J_PASSWORD": "hunter2", "KGREC_NEO4J_PASSWORD": "no"})
    assert s.neo4j_password == "hunter2"
    assert "hunter2" not in repr(s)
    config = tmp_path / "c.toml"
    config.write_text('neo4j_password = "leak"\n')
    with pytest.raises(ConfigError, match="neo4j_password"):
        Settings.load(_parse("--config", str(config)), env={})
    with pytest.raises(SystemExit):  # no flag for it at all
        _parse("--neo4j-password", "x")


@pytest.mark.parametrize(
    ("argv", "env", "name"),
    [
        (("--port", "70000"), {}, "port"),
        (("--port", "abc"), {}, "port"),
        ((), {"KGREC_MAX_IN_FLIGHT": "0"}, "max_in_flight"),
        ((), {"KGREC_DEMO": "maybe"}, "demo"),
        ((), {"KGREC_LOG_LEVEL": "LOUD"}, "log_level"),
        ((), {"KGREC_ENCODER_DTYPE": "float16"}, "encoder_dtype"),
        (("--grace-seconds", "-1"), {}, "grace_seconds"),
        (("--max-message-chars", "0"), {}, "max_message_chars"),
        (("--graph-uri", "localhost:7687"), {}, "graph_uri"),
        (("--demo-products", "0"), {}, "demo_products"),
        (("--workers", "-1"), {}, "workers"),
        (("--device", "gpu"), {}, "device"),
        ((), {"KGREC_SCORE_BATCHING": "yes"}, "score_batching"),
        (("--encoder-batching", "always"), {}, "encoder_batching"),
        (("--item-index", "hnsw"), {}, "item_index"),
        (("--workers", "two"), {}, "workers"),
        (("--workers", "3", "--metrics-port", "65534"), {}, "metrics_port"),
        (("--workers", "2", "--port", "9101", "--metrics-port", "9100"), {}, "metrics_port"),
    ],
)
def test_invalid_values_name_the_setting(
    argv: tuple[str, ...], env: dict[str, str], name: str
) -> None:
    with pytest.raises(ConfigError, match=f"^{name}:"):
        Settings.load(_parse(*argv), env=env)


def test_bad_config_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config: file not found"):
        Settings.load(None, env={"KGREC_CONFIG": str(tmp_path / "missing.toml")})
    broken = tmp_path / "broken.toml"
    broken.write_text("port = [\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        Settings.load(None, env={"KGREC_CONFIG": str(broken)})
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("prot = 1\n")
    with pytest.raises(ConfigError, match="^prot: unknown setting"):
        Settings.load(None, env={"KGREC_CONFIG": str(unknown)})
    typed = tmp_path / "typed.toml"
    typed.write_text('port = "fifty"\n')
    with pytest.raises(ConfigError, match="^port:"):
        Settings.load(None, env={"KGREC_CONFIG": str(typed)})


def test_workers_zero_is_one_per_cpu_and_settings_cross_to_a_worker_intact(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import os

    monkeypatch.setattr(os, "cpu_count", lambda: 6)
    settings = Settings.load(_parse("--workers", "0", "--data-dir", "/tmp/x"), env={})
    assert settings.worker_count == 6
    assert Settings(workers=3).worker_count == 3
    again = Settings.from_dict(settings.to_dict())
    assert again == settings and isinstance(again.data_dir, Path)


def test_kgrec_serve_refuses_a_bad_worker_count(capsys: pytest.CaptureFixture[str]) -> None:
    from kgrec.cli import main

    assert main(["serve", "--workers", "-2"]) == 2
    err = capsys.readouterr().err
    assert "workers: -2 must be >= 1" in err


def test_kgrec_serve_refuses_cuda_where_torch_sees_none(capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    from kgrec.cli import main

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert main(["serve", "--device", "cuda"]) == 2
    assert "device 'cuda': this torch sees no CUDA device" in capsys.readouterr().err
