"""No module over 450 lines: a file that long holds more than one responsibility and should be
split along its seam (one module per responsibility, a docstring saying what it owns).

Generated code (the protobuf stubs ``*_pb2*.py``) is exempt, and so are virtual environments and
benchmark output folders. ``KNOWN_OVERSIZE`` lists a module that is being split elsewhere, with
the line count it may not grow past; an entry must go once its module fits.
"""

from __future__ import annotations

from pathlib import Path

from project_files import not_project_code

ROOT = Path(__file__).resolve().parents[1]
TOPS = ("kgrec", "kg", "models", "server", "bench", "tests")
MAX_LINES = 450
#: module (path from the repository root) -> the most lines it may have until it is split
KNOWN_OVERSIZE: dict[str, int] = {}
#: the turn pipeline only orchestrates (issue 14): a tighter bound than any other module
PIPELINE_MAX_LINES = 250


def _is_generated(path: Path) -> bool:
    return "_pb2" in path.name


def line_counts(root: Path = ROOT, tops: tuple[str, ...] = TOPS) -> dict[str, int]:
    """Lines of every project module under ``root``'s ``tops`` (generated stubs left out)."""
    counts: dict[str, int] = {}
    for top in tops:
        for path in sorted((root / top).rglob("*.py")):
            relative = path.relative_to(root)
            if not_project_code(relative) or _is_generated(path):
                continue
            counts[relative.as_posix()] = len(path.read_text(encoding="utf-8").splitlines())
    return counts


def oversize(counts: dict[str, int], known: dict[str, int] = KNOWN_OVERSIZE) -> list[str]:
    """``path: n lines`` for each module past the limit (or past its known ceiling)."""
    return [
        f"{path}: {n} lines (limit {known.get(path, MAX_LINES)})"
        for path, n in sorted(counts.items())
        if n > known.get(path, MAX_LINES)
    ]


def test_no_module_is_over_the_limit() -> None:
    counts = line_counts()
    assert "kgrec/cli.py" in counts  # the scan sees the project
    assert not oversize(counts), "split these along a seam:\n" + "\n".join(oversize(counts))


def test_known_oversize_entries_are_still_needed() -> None:
    counts = line_counts()
    stale = [p for p in KNOWN_OVERSIZE if counts.get(p, 0) <= MAX_LINES]
    assert not stale, f"these fit now; take them out of KNOWN_OVERSIZE: {stale}"


def test_the_check_fails_on_a_long_module_and_spares_generated_and_venv_code(
    tmp_path: Path,
) -> None:
    long = "\n".join(f"x{i} = {i}" for i in range(MAX_LINES + 1)) + "\n"
    (tmp_path / "kg" / ".venv" / "lib").mkdir(parents=True)
    (tmp_path / "kg" / "fine.py").write_text("x = 1\n" * MAX_LINES)
    (tmp_path / "kg" / "long.py").write_text(long)
    (tmp_path / "kg" / "thing_pb2.py").write_text(long)
    (tmp_path / "kg" / ".venv" / "lib" / "dep.py").write_text(long)
    counts = line_counts(tmp_path, ("kg",))
    assert counts == {"kg/fine.py": MAX_LINES, "kg/long.py": MAX_LINES + 1}
    assert oversize(counts, {}) == [f"kg/long.py: {MAX_LINES + 1} lines (limit {MAX_LINES})"]
    assert oversize(counts, {"kg/long.py": MAX_LINES + 1}) == []


def test_the_pipeline_only_orchestrates() -> None:
    n = line_counts()["server/pipeline.py"]
    assert n <= PIPELINE_MAX_LINES, f"server/pipeline.py: {n} lines (limit {PIPELINE_MAX_LINES})"
