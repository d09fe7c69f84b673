"""Server settings: one typed dataclass, layered from four sources.

Later layers override earlier ones::

    defaults (below)  ->  TOML file  ->  environment KGREC_<FIELD>  ->  command-line flags

The TOML file is ``--config PATH`` or ``$KGREC_CONFIG``; its keys are the field names (flat,
or under a ``[kgrec]`` table). Secrets are read only from the environment (``NEO4J_PASSWORD``);
a secret in the file or on the command line is a :class:`~kgrec.errors.ConfigError`, so it
never lands in a config repo or a shell history. Settings are built once at the entry point
(``Settings.load``) and passed down.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from kg.embedded import FSYNC_POLICIES
from kgrec.errors import ConfigError
from kgrec.sentence_embedding import INFERENCE_DTYPES
from models.training.device import DEVICE_NAMES, ENCODER_BATCHING, SCORE_BATCHING, valid_device

ENV_PREFIX = "KGREC_"
CONFIG_ENV = "KGREC_CONFIG"
#: Secret fields and the only environment variable each is read from.
SECRET_ENV = {"neo4j_password": "NEO4J_PASSWORD"}
_LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


#: what ``rerank_policy`` may be
RERANK_POLICIES = ("off", "linucb", "thompson")
#: settings whose value is one of a few names
_CHOICES = {
    "explainer": ("template", "llm-rewrite"),
    "encoder_dtype": INFERENCE_DTYPES,
    "rerank_policy": RERANK_POLICIES,
    "graph_fsync": FSYNC_POLICIES,
    "item_index": ("auto", "exact", "faiss"),
    "score_batching": SCORE_BATCHING,
    "encoder_batching": ENCODER_BATCHING,
    "log_format": ("text", "json"),
    "log_level": _LOG_LEVELS,
}


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything ``kgrec serve`` can be told.

    Attributes:
        host: Interface to bind; ``127.0.0.1`` (loopback only). ``0.0.0.0`` for all.
        port: TCP port; ``0`` picks a free one (the running server reports it).
        data_dir: Where the embedded graph DB, models and demo data live.
        graph_uri: ``""`` runs the embedded FalkorDB inside ``data_dir``; ``bolt://`` or
            ``neo4j://`` URIs use a Neo4j server.
        graph_name: The graph (FalkorDB key / Neo4j database) to use.
        neo4j_user: The Neo4j user (the password comes only from ``$NEO4J_PASSWORD``).
        neo4j_password: Secret; environment only.
        demo: Load the generated demo store when the graph is empty.
        demo_products: Products in the demo store.
        demo_users: Users in the demo store.
        seed: Seed for the demo generator and anything random.
        model_dir: Where trained models are; ``""`` means ``data_dir/models``.
        train_model: With the demo store and no checkpoint in ``model_dir``, train a small
            model at start (about a minute on 2 cores); off ranks by KG match + popularity.
        torch_threads: Threads per torch op (and numpy BLAS call) while serving; requests
            already run in parallel, and on small boxes one per op is several times faster.
        encoder_dtype: ``auto`` (default), ``float32`` or ``bfloat16``: the dtype of the
            per-turn MiniLM forwards on the CPU (the intent parser's, the scorer's message).
            ``auto`` is bfloat16 where the CPU multiplies it in hardware (AVX512-BF16 or AMX;
            ~2.5x faster, cosine to float32 ~0.9999), float32 elsewhere.
        session_ttl_seconds: A conversation idle longer than this is forgotten (``NOT_FOUND``).
        candidate_pool: Candidates per turn: this many from the graph under the constraints,
            plus the scorer's best this many for the conversation when nothing constrains it.
        hide_named_items: A product the shopper names (or likes) is not recommended back to
            them in that session. Off only to follow a protocol that counts re-mentioning the
            shopper's own examples as a recommendation (ReDial's standard one).
        demote_shown: On a turn that tells nothing new ("show me more", "what else?", "ok"),
            what the session showed and the shopper passed over ranks below the new (with
            ``adapt_session``). Off where lists do not reach the shopper: a client showing only
            some, or a replay of logged conversations (there "passed over" would be false).
        close_matches: When a brand or attribute asked for ("pink", "from Wilson") leaves
            fewer products than the answer's limit, the rest are close matches: products
            missing one of those (never the category, price or an exclusion), after every
            exact one, each saying what it misses. Off: the exact ones only.
        explainer: ``template`` (default) or ``llm-rewrite``: the template reply polished by
            an LLM and used only when the faithfulness checker accepts it.
        llm_endpoint_url: OpenAI-compatible base URL (vLLM, Ollama, TGI, ...) for the
            ``llm-remote`` intent backend and the reply rewrite; key from ``$KGREC_INTENT_API_KEY``.
        llm_remote_model: Model name sent to that endpoint.
        llm_model_path: Local HF model dir or GGUF file for ``llm-local``; empty: SmolLM2-135M.
        intent_backend: Registered name of the intent parser (``embedded``, ``llm``, ...).
        max_message_chars: Longest accepted chat message; longer is ``INVALID_ARGUMENT``.
        max_in_flight: Calls served at once; more get ``RESOURCE_EXHAUSTED``.
        grace_seconds: On SIGTERM, how long in-flight calls get to finish.
        max_request_seconds: Longest a call may run when the client sets no shorter deadline;
            past it the call stops between steps with ``DEADLINE_EXCEEDED``. ``0``: no limit.
        graph_restart_backoff_seconds: First wait before restarting a dead embedded graph DB
            child; doubles after each restart in a row, up to 30 s.
        graph_fsync: When the embedded graph DB's append-only log reaches the disk:
            ``always`` (default: every session save and Feedback event is on disk before it
            is acknowledged) or ``everysec`` (once a second: a crash of the graph DB loses
            nothing, a crash of the machine up to the last second of writes; each write then
            returns without waiting for the disk: the time of one fsync less per write).
        embedding_cache_rows: Query texts (and images) whose embeddings the scorer keeps in
            memory, least recently used dropped first; bounds memory on a long-running server.
        token_table: Compute the static MiniLM vector of every vocabulary token (30,522) at
            the first start (seconds, once: saved in ``data_dir/cache``), so that no turn
            waits on a MiniLM pass for a word not seen before; off: each token on its first
            use, in memory only.
        item_index: How the scorer finds its best items for a turn: ``exact`` (every item
            vector, each turn), ``faiss`` (an approximate FAISS inverted-file index, built when
            the model loads; ``bench.ann`` prints its recall against exact) or ``auto`` (FAISS
            from 50,000 items).
        device: Where the scorer's vectors, its query encoders and the intent parser's MiniLM
            compute: ``auto`` (CUDA when torch sees a GPU, else CPU), ``cpu``, ``cuda[:N]``.
        score_batching: ``on``: the scorings of concurrent turns run as one batch, every item
            scored exactly on ``device`` (unless ``item_index`` is ``faiss``); ``off``: one
            turn at a time; ``auto`` (default): on where the scorer computes on a GPU.
        encoder_batching: ``on``: the new messages of concurrent turns go through the intent
            parser's MiniLM in one forward; ``off``: one each; ``auto`` (default): on on a GPU.
        metrics_port: Serve Prometheus metrics at ``http://host:PORT/metrics``; ``0``: off.
        log_format: ``text`` (one line per record with the request id) or ``json`` (one JSON
            object per line: ts, level, logger, request_id, message).
        log_level: ``DEBUG``, ``INFO``, ``WARNING``, ``ERROR`` or ``CRITICAL``.
        api_keys: Hashed API keys, one ``ID:SCOPES:sha256:SALT:DIGEST`` line each (``kgrec
            keys new`` prints one; ``server/apikeys.py``); empty: authentication off, allowed
            only on a loopback ``host`` (see ``insecure``). A TOML list of lines also works.
        insecure: Serve a non-loopback ``host`` without ``api_keys`` anyway.
        tls_cert: PEM certificate (chain) to serve TLS with; needs ``tls_key``.
        tls_key: PEM private key of ``tls_cert``.
        tls_client_ca: PEM CA bundle; when set, clients must present a certificate it signed.
        log_message_text: Debug only: log what shoppers type (at ``DEBUG``). Off, no message
            text reaches the log; user ids are logged only as keyed hashes either way.
        adapt_session: Feedback in a session changes its next turn: a disliked or dismissed
            item and its near-duplicates drop out, liked/clicked/bought items pull similar ones
            up, a rating moves the session in proportion to its value.
        adapt_profile: A known user's events move their profile across sessions, without a
            retrain (decayed over time, see ``profile_half_life_days``).
        profile_half_life_days: An event's weight in the user's profile halves every this
            many days.
        rerank_policy: ``off`` (default), ``linucb`` or ``thompson``: a contextual bandit that
            re-ranks the best candidates by the signals clicks and purchases proved worth
            trusting; its state is saved next to the model and versioned with it. It explores
            (a bounded bonus) unless a request says ``explore = false``, independently of
            ``explore_rate``.
        explore_rate: Probability that a turn explores (its shown items drawn at random from
            the best ``explore_top``, each impression logged with its probability); ``0``:
            never. A request can turn it off (``RecommendRequest.explore = false``).
        explore_top: How many of the best candidates an exploring turn draws from.
        impression_log: Log every shown item (position, signals, probability of being shown)
            under ``data_dir/impressions``, batched off the request path; what off-policy
            evaluation (``kgrec evaluate --policy``) and the bandit learn from.
        workers: Server processes sharing the port (``SO_REUSEPORT``), each with its own graph
            client, after one start-up in the parent (``server/workers.py``); ``0``: one per
            CPU. With several, worker ``i`` serves metrics on ``metrics_port + i``.
    """

    host: str = "127.0.0.1"
    port: int = 50051
    data_dir: Path = Path("var/kgrec")
    graph_uri: str = ""
    graph_name: str = "kgrec"
    neo4j_user: str = "neo4j"
    neo4j_password: str = field(default="", repr=False)
    demo: bool = True
    demo_products: int = 6000
    demo_users: int = 2500
    seed: int = 7
    model_dir: str = ""
    train_model: bool = True
    session_ttl_seconds: float = 86400.0
    candidate_pool: int = 300
    hide_named_items: bool = True
    demote_shown: bool = True
    close_matches: bool = True
    torch_threads: int = 1
    encoder_dtype: str = "auto"
    intent_backend: str = "embedded"
    explainer: str = "template"
    llm_endpoint_url: str = ""
    llm_remote_model: str = "gpt-4o-mini"
    llm_model_path: str = ""
    max_message_chars: int = 2000
    max_in_flight: int = 64
    grace_seconds: float = 10.0
    max_request_seconds: float = 30.0
    graph_restart_backoff_seconds: float = 0.25
    graph_fsync: str = "always"
    embedding_cache_rows: int = 4096
    token_table: bool = True
    item_index: str = "auto"
    device: str = "auto"
    score_batching: str = "auto"
    encoder_batching: str = "auto"
    metrics_port: int = 0
    log_level: str = "INFO"
    api_keys: str = field(default="", repr=False)
    insecure: bool = False
    tls_cert: str = ""
    tls_key: str = ""
    tls_client_ca: str = ""
    log_message_text: bool = False
    log_format: str = "text"
    adapt_session: bool = True
    adapt_profile: bool = True
    profile_half_life_days: float = 30.0
    rerank_policy: str = "off"
    explore_rate: float = 0.0
    explore_top: int = 20
    impression_log: bool = True
    workers: int = 1

    @property
    def models_path(self) -> Path:
        """``model_dir`` resolved: ``data_dir/models`` when unset."""
        return Path(self.model_dir) if self.model_dir else self.data_dir / "models"

    @property
    def worker_count(self) -> int:
        """``workers`` resolved: one per CPU for ``0``."""
        return self.workers or os.cpu_count() or 1

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @classmethod
    def load(
        cls, args: argparse.Namespace | None = None, env: Mapping[str, str] | None = None
    ) -> Settings:
        """Build settings from defaults, the TOML file, the environment and ``args``.

        ``args`` is a namespace from a parser set up with :func:`add_arguments` (flags the user
        did not give are absent from it). ``env`` defaults to ``os.environ``.
        """
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        config_path = getattr(args, "config", None) or env.get(CONFIG_ENV) or None
        if config_path:
            values.update(_from_toml(Path(config_path)))
        for f in fields(cls):
            if f.name in SECRET_ENV:
                continue
            raw = env.get(ENV_PREFIX + f.name.upper())
            if raw is not None:
                values[f.name] = _coerce(f.name, raw)
        if args is not None:
            for f in fields(cls):
                if f.name in SECRET_ENV:
                    continue
                value = getattr(args, f.name, None)
                if value is not None:
                    values[f.name] = _coerce(f.name, value)
        for name, var in SECRET_ENV.items():
            if env.get(var):
                values[name] = env[var]
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        """Raise :class:`ConfigError` naming the first invalid setting."""
        if not self.host:
            raise ConfigError("host: must not be empty")
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"port: {self.port} is not in 0..65535")
        if self.graph_uri and "://" not in self.graph_uri:
            raise ConfigError(f"graph_uri: {self.graph_uri!r} is not a URI (bolt://, neo4j://)")
        if not self.graph_name:
            raise ConfigError("graph_name: must not be empty")
        if self.demo_products < 1:
            raise ConfigError(f"demo_products: {self.demo_products} must be >= 1")
        if self.demo_users < 0:
            raise ConfigError(f"demo_users: {self.demo_users} must be >= 0")
        if not self.intent_backend:
            raise ConfigError("intent_backend: must not be empty")
        for name, choices in _CHOICES.items():
            if (value := getattr(self, name)) not in choices:
                raise ConfigError(f"{name}: {value!r} is not one of {', '.join(choices)}")
        if not valid_device(self.device):
            raise ConfigError(f"device: {self.device!r} is not one of {DEVICE_NAMES}")
        if not 1 <= self.max_message_chars <= 1_000_000:
            raise ConfigError(f"max_message_chars: {self.max_message_chars} not in 1..1000000")
        if self.torch_threads < 1:
            raise ConfigError(f"torch_threads: {self.torch_threads} must be >= 1")
        if not 1 <= self.candidate_pool <= 1_000_000:
            raise ConfigError(f"candidate_pool: {self.candidate_pool} not in 1..1000000")
        if not 0.0 <= self.explore_rate <= 1.0:
            raise ConfigError(f"explore_rate: {self.explore_rate} not in 0..1")
        if not 1 <= self.explore_top <= 1000:
            raise ConfigError(f"explore_top: {self.explore_top} not in 1..1000")
        if not self.profile_half_life_days > 0:
            raise ConfigError(f"profile_half_life_days: {self.profile_half_life_days} must be > 0")
        if self.max_in_flight < 1:
            raise ConfigError(f"max_in_flight: {self.max_in_flight} must be >= 1")
        if not (math.isfinite(self.grace_seconds) and self.grace_seconds >= 0):
            raise ConfigError(f"grace_seconds: {self.grace_seconds} must be >= 0")
        if not (math.isfinite(self.max_request_seconds) and self.max_request_seconds >= 0):
            raise ConfigError(f"max_request_seconds: {self.max_request_seconds} must be >= 0")
        backoff = self.graph_restart_backoff_seconds
        if not (math.isfinite(backoff) and 0 <= backoff <= 30):
            raise ConfigError(f"graph_restart_backoff_seconds: {backoff} not in 0..30")
        if self.embedding_cache_rows < 0:
            raise ConfigError(f"embedding_cache_rows: {self.embedding_cache_rows} must be >= 0")
        if not 0 <= self.metrics_port <= 65535:
            raise ConfigError(f"metrics_port: {self.metrics_port} is not in 0..65535")
        if self.workers < 0:
            raise ConfigError(
                f"workers: {self.workers} must be >= 1 (server processes), or 0 for one per CPU"
            )
        if self.metrics_port:
            last = self.metrics_port + self.worker_count - 1
            if last > 65535:
                raise ConfigError(
                    f"metrics_port: {self.metrics_port} + one port per worker passes 65535"
                )
            if self.metrics_port <= self.port <= last:
                raise ConfigError(f"metrics_port: {self.metrics_port} is the gRPC port")
        if not (math.isfinite(self.session_ttl_seconds) and self.session_ttl_seconds > 0):
            raise ConfigError(f"session_ttl_seconds: {self.session_ttl_seconds} must be > 0")
        if bool(self.tls_cert) != bool(self.tls_key):
            raise ConfigError("tls_cert, tls_key: give both (or neither, for no TLS)")
        if self.tls_client_ca and not self.tls_cert:
            raise ConfigError("tls_client_ca: mutual TLS needs tls_cert and tls_key too")
        from server.apikeys import KeyRing
        from server.exposure import check_exposure

        has_keys = bool(KeyRing.parse(self.api_keys))
        check_exposure(self.host, insecure=self.insecure, has_keys=has_keys)

    def to_dict(self) -> dict[str, Any]:
        """Every field as a JSON value (paths as strings), secrets included: for
        :meth:`from_dict` in a worker process, over a pipe, never a file or a command line."""
        return {
            f.name: str(v) if isinstance(v := getattr(self, f.name), Path) else v
            for f in fields(self)
        }

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> Settings:
        """Settings from :meth:`to_dict`'s output, coerced and validated."""
        settings = cls(**{name: _coerce(name, value) for name, value in values.items()})
        settings.validate()
        return settings

    def replace(self, **changes: Any) -> Settings:
        """A copy with ``changes`` applied and validated."""
        settings = dataclasses.replace(self, **changes)
        settings.validate()
        return settings


_TYPES_BY_NAME: dict[str, type] = {t.__name__: t for t in (str, int, float, bool, Path)}
#: Field name -> the type values are coerced to (annotations are strings under __future__).
_FIELD_TYPES: dict[str, type] = {f.name: _TYPES_BY_NAME[str(f.type)] for f in fields(Settings)}


def _coerce(name: str, value: Any) -> Any:
    """Convert a TOML, environment or flag value to the field's type, or raise ConfigError."""
    kind = _FIELD_TYPES[name]
    try:
        if kind is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
            raise ValueError(f"expected one of {sorted(_TRUE | _FALSE)}")
        if kind is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError("expected an integer")
            return int(str(value).strip()) if isinstance(value, str) else int(value)
        if kind is float:
            if isinstance(value, bool):
                raise ValueError("expected a number")
            return float(value)
        if kind is Path:
            if not isinstance(value, str | Path):
                raise ValueError("expected a path")
            return Path(value)
        if name == "api_keys" and isinstance(value, list):  # TOML: a list of key lines
            if not all(isinstance(v, str) for v in value):
                raise ValueError("expected a list of strings")
            value = "\n".join(value)
        if not isinstance(value, str):
            raise ValueError("expected a string")
        return value.upper() if name == "log_level" else value
    except ValueError as e:
        raise ConfigError(f"{name}: invalid value {value!r}: {e}") from e


def _from_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError as e:
        raise ConfigError(f"config: file not found: {path}") from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"config: {path} is not valid TOML: {e}") from e
    if isinstance(data.get("kgrec"), dict):
        data = data["kgrec"]
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key in SECRET_ENV:
            raise ConfigError(f"{key}: secrets are read only from ${SECRET_ENV[key]}, not files")
        if key not in _FIELD_TYPES:
            raise ConfigError(
                f"{key}: unknown setting in {path} (valid: {', '.join(_FIELD_TYPES)})"
            )
        values[key] = _coerce(key, value)
    return values


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--config`` and one flag per setting (except secrets) to ``parser``.

    Every flag defaults to ``None`` so that :meth:`Settings.load` can tell "not given" from a
    value, and lower layers (file, environment) show through.
    """
    defaults = Settings()
    parser.add_argument("--config", metavar="PATH", help=f"TOML settings file (or ${CONFIG_ENV})")
    for f in fields(Settings):
        if f.name in SECRET_ENV:
            continue
        flag = "--" + f.name.replace("_", "-")
        default = getattr(defaults, f.name)
        help_text = f"default {default!s:} (env {ENV_PREFIX}{f.name.upper()})"
        kind: dict[str, Any] = (
            {"action": argparse.BooleanOptionalAction}
            if _FIELD_TYPES[f.name] is bool
            else {"type": str, "metavar": f.name.upper()}
        )
        parser.add_argument(flag, dest=f.name, default=None, help=help_text, **kind)


__all__ = ["CONFIG_ENV", "ENV_PREFIX", "RERANK_POLICIES", "SECRET_ENV", "Settings", "add_arguments"]
