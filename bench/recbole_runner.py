"""RecBole 1.2.1 baselines on the fixed MovieLens-100K split (the RecBole side of the benchmark).

Usage (from the repo root, with the project venv)::

    nice -n 10 .venv/bin/python -m bench.recbole_runner --data ../shared/data \\
        --out bench/out/recbole.json [--models BPR,LightGCN,KGCN,KGAT]
    nice -n 10 .venv/bin/python -m bench.recbole_runner --data ../shared/data \\
        --out bench/out/recbole.json --models LightGCN,BPR --tune --jobs 2

Steps:

1. Build RecBole's own venv (``bench/.venv-recbole``) if missing, see :mod:`bench.recbole_venv`.
2. Write the split (``movielens-100k-split``) and RecBole's ML-100K KG
   (``movielens-100k-kg/recbole_ml-100k``) as atomic benchmark files into a scratch folder,
   see :mod:`bench.recbole_atomic`.
3. For each model, run :mod:`bench.recbole_child` in its own subprocess of that venv, with a
   timeout: full-ranking evaluation, valid NDCG@10 for early stopping (patience 10), test
   metrics of the best-valid checkpoint.
4. Merge the results into ``--out`` (one entry per model; models not run now are kept) and
   print a table.

With ``--tune`` each model is trained at every point of its small grid instead
(:mod:`bench.recbole_tune`: learning rate, layers, regulariser; ``stopping_step`` 30) and the
point with the best valid NDCG@10 is written as ``"<model> tuned"`` (its ``grid`` lists every
point's valid figure). Otherwise hyper-parameters are RecBole's defaults for each model
except ``embedding_size=64``, ``train_batch_size=2048`` and an epoch cap
(``DEFAULT_EPOCH_CAPS``; ``--epochs`` sets one cap for all, ``--epochs-for MODEL=N`` one
model's).

Output JSON, one key per model::

    {"BPR": {"status": "ok",                       # or "failed" / "timeout" (+ "error_tail")
             "recall@10": ..., "ndcg@10": ...,       # test: recall,mrr,ndcg,hit,precision @5,10,20
             "best_valid": {...},                    # the same metrics on valid at the best epoch
             "best_epoch": 58, "epochs": 69,         # counted from 1
             "epoch_cap": 300, "time_budget_s": 1200.0,
             "stopped_by": "early_stopping",         # or "epoch_cap" / "time_budget"
             "sec_per_epoch": 1.29,                  # mean training seconds per epoch
             "valid_sec_per_epoch": 1.37,            # mean validation seconds per epoch
             "train_seconds": [...], "valid_scores": [...],
             "steps": 1540,                          # optimizer steps over the whole run
             "valid_curve": [{"epoch": 1, "steps": 22, "train_seconds": 1.3,
                              "valid_ndcg@10": 0.05}, ...],  # one point per validation
             "config": {...},                        # effective RecBole settings of the run
             "config_overrides": {...},              # what the runner set
             "checks": {...},                        # rows/users/items RecBole loaded, and
                                                     # the independent re-evaluation
             "env": {...}}, ...}                     # torch/numpy/recbole/dgl versions
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.recbole_atomic import AtomicSummary, write_atomic_dataset
from bench.recbole_tune import TUNE_STOPPING_STEP, grid_points, point_label, tuned_entry
from bench.recbole_venv import RecboleVenv

__all__ = ["MODELS", "build_config", "format_table", "main"]

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
MODELS = ("BPR", "LightGCN", "KGCN", "KGAT")
KG_MODELS = frozenset({"KGCN", "KGAT"})
SEED = 2026
TOPK = (5, 10, 20)
# Epoch caps, chosen so that all four models finish in under ~40 minutes on the 2-core
# machine when it is quiet: there one epoch (training + validation) costs about 1 s for BPR,
# 0.5 s for LightGCN, 2 s for KGCN and 7.5 s for KGAT; with other jobs running, 2-3x that.
# 300 is RecBole's default; KGAT gets 100. The per-model time budget (--budget-min) is the
# safety net when the machine is busier still.
DEFAULT_EPOCH_CAPS: dict[str, int] = {"BPR": 300, "LightGCN": 300, "KGCN": 300, "KGAT": 100}
TABLE_COLUMNS = (
    ("Recall@5", "recall@5"),
    ("Recall@10", "recall@10"),
    ("Recall@20", "recall@20"),
    ("NDCG@5", "ndcg@5"),
    ("NDCG@10", "ndcg@10"),
    ("NDCG@20", "ndcg@20"),
    ("Prec@5", "precision@5"),
)
_STOP_MARKS = {"early_stopping": "", "epoch_cap": "*", "time_budget": "!"}
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_PROGRESS = re.compile(r"epoch \d+ (training|evaluating)|Finished training|Traceback|Error")


def build_config(
    model: str, summary: AtomicSummary, checkpoint_dir: Path, epochs: int, seed: int = SEED
) -> dict:
    """RecBole ``config_dict`` for ``model`` on the atomic files described by ``summary``."""
    load_col: dict[str, list[str]] = {"inter": ["user_id", "item_id", "rating", "timestamp"]}
    if model in KG_MODELS:
        load_col["kg"] = ["head_id", "relation_id", "tail_id"]
        load_col["link"] = ["item_id", "entity_id"]
    return {
        "data_path": str(summary.data_path),
        "checkpoint_dir": str(checkpoint_dir),
        "benchmark_filename": ["train", "valid", "test"],
        "load_col": load_col,
        # With benchmark_filename RecBole takes the three files as they are; split/order are
        # not applied, mode=full gives full ranking.
        "eval_args": {
            "split": {"RS": [0.8, 0.1, 0.1]},
            "group_by": "user",
            "order": "RO",
            "mode": "full",
        },
        "metrics": ["Recall", "MRR", "NDCG", "Hit", "Precision"],
        "topk": list(TOPK),
        "valid_metric": "NDCG@10",
        "stopping_step": 10,
        "seed": seed,
        "reproducibility": True,
        "embedding_size": 64,
        "train_batch_size": 2048,
        "epochs": epochs,
        "use_gpu": False,
        "show_progress": False,
        # Reporting precision only (RecBole rounds its metrics to this many places).
        "metric_decimal_place": 6,
    }


def format_table(results: dict[str, dict]) -> str:
    """A plain-text table of test metrics, epochs and seconds per training epoch."""
    head = ["model", *(c for c, _ in TABLE_COLUMNS), "best/epochs", "s/epoch"]
    lines = []
    for model, res in results.items():
        if res.get("status") != "ok":
            lines.append([model, *(["-"] * len(TABLE_COLUMNS)), res.get("status", "?"), "-"])
            continue
        cells = [f"{res[key]:.4f}" for _, key in TABLE_COLUMNS]
        mark = _STOP_MARKS.get(res.get("stopped_by", ""), "?")
        epochs = f"{res['best_epoch']}/{res['epochs']}{mark}"
        lines.append([model, *cells, epochs, f"{res['sec_per_epoch']:.2f}"])
    widths = [max(len(row[i]) for row in [head, *lines]) for i in range(len(head))]
    fmt = "  ".join(f"{{:{'<' if i == 0 else '>'}{w}}}" for i, w in enumerate(widths))
    out = [fmt.format(*head), fmt.format(*("-" * w for w in widths))]
    out += [fmt.format(*row) for row in lines]
    out.append("best/epochs: best-valid epoch / epochs run (from 1); * = hit the epoch cap,")
    out.append("! = hit the time budget (otherwise early stopping on valid NDCG@10 ended it)")
    return "\n".join(out)


def _epoch_caps(all_models: int | None, items: list[str]) -> dict[str, int]:
    caps = {m: all_models or cap for m, cap in DEFAULT_EPOCH_CAPS.items()}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or name not in MODELS or not value.isdigit():
            raise SystemExit(f"--epochs-for expects MODEL=N with MODEL in {MODELS}, got {item!r}")
        caps[name] = int(value)
    return caps


def _run_child(
    venv: RecboleVenv, spec: dict, workdir: Path, timeout_s: float, threads: int
) -> tuple[str, dict | None, str]:
    """Runs one model; returns (status, result or None, last lines of its log)."""
    workdir.mkdir(parents=True, exist_ok=True)
    spec_path, out_path, log_path = (
        workdir / "spec.json",
        workdir / "result.json",
        workdir / "child.log",
    )
    spec_path.write_text(json.dumps(spec, indent=2))
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT)
    env["TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"] = "1"
    env["DGLBACKEND"] = "pytorch"
    env["PYTHONUNBUFFERED"] = "1"  # live progress lines through the pipe
    # On the shared 2-core machine two OpenMP threads made epochs ~20x slower under load
    # (threads waiting for each other); one thread gives the same numbers, steadily.
    env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(threads)
    cmd = [str(venv.python), "-m", "bench.recbole_child", "--spec", str(spec_path)]
    cmd += ["--out", str(out_path)]
    timed_out = threading.Event()
    tail: list[str] = []
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            cmd,
            cwd=workdir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )

        def kill() -> None:
            timed_out.set()
            os.killpg(proc.pid, signal.SIGKILL)

        timer = threading.Timer(timeout_s, kill)
        timer.start()
        try:
            assert proc.stdout is not None
            for raw in proc.stdout:
                line = _ANSI.sub("", raw.rstrip("\n"))
                log.write(line + "\n")
                tail = (tail + [line])[-40:]
                if _PROGRESS.search(line):
                    logger.info("%s | %s", spec["model"], line.strip())
            proc.wait()
        finally:
            timer.cancel()
    text = "\n".join(tail)
    if timed_out.is_set():
        return "timeout", None, text
    if proc.returncode != 0 or not out_path.exists():
        return "failed", None, text
    return "ok", json.loads(out_path.read_text()), text


class _ModelRun:
    """Runs one RecBole config in its child process and makes its results entry."""

    def __init__(
        self, venv: RecboleVenv, summary: AtomicSummary, work: Path, args: Any, env: dict
    ) -> None:
        self.venv, self.summary, self.work, self.args, self.env = venv, summary, work, args, env

    def one(self, model: str, config: dict, workdir: Path, label: str = "") -> dict:
        args, summary = self.args, self.summary
        spec = {
            "model": model,
            "dataset": summary.name,
            "config": config,
            "split_dir": str((args.data / "movielens-100k-split").resolve()),
            "independent_check": not args.no_check,
            "time_budget_s": args.budget_min * 60,
        }
        name = f"{model} [{label}]" if label else model
        logger.info("%s: start (epoch cap %d, budget %.0f min)", name, config["epochs"],
                    args.budget_min)  # fmt: skip
        t0 = time.monotonic()
        timeout_s = (args.budget_min + 10) * 60
        status, res, tail = _run_child(self.venv, spec, workdir, timeout_s, args.threads)
        wall = time.monotonic() - t0
        logger.info("%s: %s in %.0f s", name, status, wall)
        entry: dict = {"status": status, "wall_seconds": wall, "epoch_cap": config["epochs"]}
        if res is None:
            entry["error_tail"] = tail
            logger.error("%s %s; last log lines:\n%s", name, status, tail)
        else:
            entry.update(res.pop("test"))
            checks = {"dataset": res.pop("dataset")}
            if "independent_check" in res:
                checks["independent_check"] = res.pop("independent_check")
            entry.update(res)
            entry["checks"] = checks
            entry["config"] = entry.pop("config_effective")
            entry["atomic_files"] = {k: v for k, v in asdict(summary).items() if k != "data_path"}
        entry["env"] = self.env
        entry["config_overrides"] = {
            k: v for k, v in config.items() if k not in ("data_path", "checkpoint_dir")
        }
        return entry

    def grid(self, model: str, config: dict, jobs: int) -> dict:
        """Every point of ``model``'s grid (``jobs`` at once); the tuned entry chosen on
        valid (:func:`bench.recbole_tune.tuned_entry`)."""
        points = grid_points(model)

        def point(k: int) -> dict:
            workdir = self.work / f"{model}-{k}"
            changes = {
                "stopping_step": TUNE_STOPPING_STEP,
                "checkpoint_dir": str(workdir / "saved"),
            }
            return self.one(model, {**config, **points[k], **changes}, workdir,
                            point_label(points[k]))  # fmt: skip

        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            entries = list(pool.map(point, range(len(points))))
        entry = tuned_entry(points, entries)
        chosen = entry.get("chosen")
        logger.info("%s tuned: %s chosen on valid", model, chosen and point_label(chosen))
        return entry


def _venv_versions(venv: RecboleVenv) -> dict:
    code = (
        "import json, torch, numpy, recbole; v={'torch': torch.__version__, "
        "'numpy': numpy.__version__, 'recbole': recbole.__version__}\n"
        "try:\n import dgl; v['dgl'] = dgl.__version__\nexcept Exception: pass\n"
        "print(json.dumps(v))"
    )
    env = dict(os.environ, DGLBACKEND="pytorch")
    out = subprocess.run(
        [str(venv.python), "-c", code], capture_output=True, text=True, check=True, env=env
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="RecBole 1.2.1 baselines on the fixed MovieLens-100K split."
    )
    parser.add_argument("--data", type=Path, default=REPO_ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "bench" / "out" / "recbole.json")
    parser.add_argument("--models", default=",".join(MODELS), help=f"comma list of {MODELS}")
    parser.add_argument(
        "--epochs", type=int, default=None, help=f"epoch cap for all models {DEFAULT_EPOCH_CAPS}"
    )
    parser.add_argument(
        "--epochs-for", action="append", default=[], metavar="MODEL=N", help="per-model cap"
    )
    parser.add_argument(
        "--budget-min",
        type=float,
        default=45.0,
        help="per-model training time budget: no new epoch starts after it; the best epoch "
        "so far is tested (the process is killed only at budget + 10 min)",
    )
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--venv", type=Path, default=REPO_ROOT / "bench" / ".venv-recbole")
    parser.add_argument(
        "--work-dir", type=Path, default=None, help="keep atomic files, logs, checkpoints here"
    )
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads per model")
    parser.add_argument("--no-check", action="store_true", help="skip the re-evaluation")
    parser.add_argument(
        "--tune",
        action="store_true",
        help="train each model's small grid (bench.recbole_tune) and write '<model> tuned', "
        "the point with the best valid NDCG@10",
    )
    parser.add_argument("--jobs", type=int, default=1, help="grid points trained at once")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        parser.error(f"unknown model(s) {unknown}; valid: {', '.join(MODELS)}")
    caps = _epoch_caps(args.epochs, args.epochs_for)
    split_dir = args.data / "movielens-100k-split"
    kg_dir = args.data / "movielens-100k-kg" / "recbole_ml-100k"
    for needed in (split_dir / "train.tsv", kg_dir / "ml-100k.kg"):
        if not needed.exists():
            parser.error(f"missing {needed}")

    venv = RecboleVenv(args.venv, with_dgl="KGAT" in models)
    install_seconds = venv.ensure()
    times_file = args.venv / "install-seconds.json"
    if install_seconds:
        previous = json.loads(times_file.read_text()) if times_file.exists() else {}
        times_file.write_text(json.dumps({**previous, **install_seconds}, indent=2))
    env_info = _venv_versions(venv)
    env_info["torch_threads"] = args.threads
    if times_file.exists():
        env_info["venv_install_seconds"] = json.loads(times_file.read_text())

    tmp = None
    if args.work_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="recbole-bench-")
        work = Path(tmp.name)
    else:
        work = args.work_dir.resolve()
    try:
        summary = write_atomic_dataset(split_dir, work / "data", kg_dir=kg_dir)
        logger.info("atomic files: %s", summary)
        run = _ModelRun(venv, summary, work, args, env_info)
        results: dict[str, dict] = {}
        for model in models:
            config = build_config(model, summary, work / model / "saved", caps[model], args.seed)
            if not args.tune:
                results[model] = run.one(model, config, work / model)
            else:
                results[f"{model} tuned"] = run.grid(model, config, args.jobs)
            _merge_write(args.out, {k: v for k, v in results.items() if k.split()[0] == model})
    finally:
        if tmp is not None:
            tmp.cleanup()

    print(format_table(results))
    print(f"wrote {args.out}")
    return 0 if all(r["status"] == "ok" for r in results.values()) else 1


def _merge_write(path: Path, new: dict[str, dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    merged = json.loads(path.read_text()) if path.exists() else {}
    merged.update(new)
    path.write_text(json.dumps(merged, indent=2, sort_keys=False) + "\n")


if __name__ == "__main__":
    sys.exit(main())
