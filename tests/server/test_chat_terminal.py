"""``kgrec chat`` in a real pseudo-terminal, as a person uses it: the arrow keys edit and
recall lines (readline) instead of sending ``^[[A``, history survives a restart, paths print the
way their edges point, and Ctrl-C in the middle of a call or Ctrl-D at the prompt ends it at once.
The server is the fake pipeline behind the real gRPC app, in a thread of the test process."""

from __future__ import annotations

import asyncio
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from server_fakes import FakePipeline, serving

pytestmark = pytest.mark.skipif(os.name != "posix", reason="needs a POSIX pseudo-terminal")

ROOT = Path(__file__).resolve().parents[2]
UP = "\x1b[A"
PROMPT = "you> "


class Terminal:
    """``kgrec chat`` on the slave side of a pty; the test types on the master side."""

    def __init__(self, target: str, home: Path, *, sigint_ignored: bool = False) -> None:
        master, slave = os.openpty()
        env = dict(os.environ, HOME=str(home), TERM="xterm", INPUTRC=os.devnull)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        command = [sys.executable, "-m", "kgrec.cli", "chat", "--target", target, "--timeout", "30"]
        if sigint_ignored:  # as a background job of a non-interactive shell starts it
            command = ["sh", "-c", "trap '' INT; exec \"$@\"", "sh", *command]
        self.proc = subprocess.Popen(
            command,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            close_fds=True,
        )
        os.close(slave)
        self.master = master
        self.seen = ""  # everything the terminal showed so far

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def read_until(self, text: str, start: int, timeout: float = 60.0) -> str:
        """Output from ``start`` up to and including the first ``text`` after it."""
        deadline = time.monotonic() + timeout
        while text not in self.seen[start:]:
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None and not self._read(0.1):
                raise AssertionError(f"no {text!r} on the terminal; it shows:\n{self.seen}")
            self._read(min(left, 0.2))
        end = self.seen.index(text, start) + len(text)
        return self.seen[start:end]

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return False
        try:
            data = os.read(self.master, 65536)
        except OSError:  # the child closed the terminal
            return False
        self.seen += data.decode(errors="replace")
        return bool(data)

    def ask(self, keys: str) -> str:
        """Type ``keys`` (ending with Enter) and return what shows up to the next prompt."""
        start = len(self.seen)
        self.type(keys)
        return self.read_until(PROMPT, start)

    def wait(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout)
        finally:
            while self._read(0):  # drain, so nothing blocks on a full pty
                pass

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)


@pytest.fixture
def fake_server() -> Iterator[tuple[FakePipeline, str]]:
    """The fake pipeline served by the real gRPC app on a loopback port, in a thread."""
    fake = FakePipeline()
    started = threading.Event()
    holder: dict[str, object] = {}

    async def main() -> None:
        stop = asyncio.Event()
        holder["loop"], holder["stop"] = asyncio.get_running_loop(), stop
        async with serving(fake) as served:
            holder["target"] = served.target
            started.set()
            await stop.wait()

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    assert started.wait(30), "fake server did not start"
    yield fake, str(holder["target"])
    loop, stop = holder["loop"], holder["stop"]
    loop.call_soon_threadsafe(stop.set)  # type: ignore[attr-defined]
    thread.join(10)


def test_arrow_up_recalls_the_last_message_and_paths_point_the_right_way(
    fake_server: tuple[FakePipeline, str], tmp_path: Path
) -> None:
    fake, target = fake_server
    term = Terminal(target, tmp_path)
    try:
        term.read_until(PROMPT, 0)
        answer = term.ask("red running shoes\r")
        assert " 1. Acme Runner 1  ($50.00, Acme, score 1.000)" in answer
        # (Product)-[:HAS_BRAND]->(Brand), reached from the brand: drawn from the product
        assert "Acme Trail Runner -[HAS_BRAND]-> Acme" in answer
        assert "Acme -[HAS_BRAND]-> Acme Trail Runner" not in answer
        term.ask(UP + "\r")  # arrow up, Enter: the same message again
        assert [q.message for q in fake.queries] == ["red running shoes"] * 2
        why = term.ask(":why 1\r")
        assert "Acme Trail Runner (Product) -[HAS_BRAND]-> Acme (Brand)" in why
        term.type("\x04")  # Ctrl-D at the prompt
        assert term.wait(5) == 0
    finally:
        term.close()
    history = (tmp_path / ".kgrec" / "chat_history").read_text()
    assert "red running shoes" in history and "\x1b" not in history

    again = Terminal(target, tmp_path)  # a new run recalls the last one's lines
    try:
        again.read_until(PROMPT, 0)
        again.ask(UP + UP + "\r")  # :why 1, then red running shoes
        assert [q.message for q in fake.queries] == ["red running shoes"] * 3
        again.type("\x04")
        assert again.wait(5) == 0
    finally:
        again.close()


def test_ctrl_c_during_a_call_leaves_at_once(
    fake_server: tuple[FakePipeline, str], tmp_path: Path
) -> None:
    fake, target = fake_server
    fake.gate, fake.entered = asyncio.Event(), asyncio.Event()  # the call never returns
    term = Terminal(target, tmp_path)
    try:
        term.read_until(PROMPT, 0)
        term.type("shoes\r")
        deadline = time.monotonic() + 30
        while not fake.entered.is_set():  # the call is in flight on the server
            assert time.monotonic() < deadline, term.seen
            time.sleep(0.02)
        started = time.monotonic()
        term.proc.send_signal(signal.SIGINT)  # what Ctrl-C in the terminal sends
        code = term.wait(10)
        assert time.monotonic() - started <= 2.0
        assert code == 130
        assert "Traceback" not in term.seen
    finally:
        term.close()


@pytest.mark.parametrize("sigint_ignored", [False, True], ids=["plain", "started-ignoring-sigint"])
def test_ctrl_c_at_the_prompt_leaves_at_once_and_keeps_the_history(
    fake_server: tuple[FakePipeline, str], tmp_path: Path, sigint_ignored: bool
) -> None:
    _, target = fake_server
    term = Terminal(target, tmp_path, sigint_ignored=sigint_ignored)
    try:
        term.read_until(PROMPT, 0)
        term.ask("shoes\r")
        # a person's Ctrl-C comes once the prompt waits for keys; one sent the moment the
        # prompt is drawn can land before CPython's readline enters its select() and then
        # waits for the next key (readline_until_enter_or_signal only sees EINTR)
        time.sleep(0.3)
        started = time.monotonic()
        term.proc.send_signal(signal.SIGINT)  # waiting at the prompt
        assert term.wait(10) == 130
        assert time.monotonic() - started <= 2.0
        assert "Traceback" not in term.seen
    finally:
        term.close()
    assert "shoes" in (tmp_path / ".kgrec" / "chat_history").read_text()
