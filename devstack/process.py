"""Child processes that never outlive the stack.

Each one runs in its own process group (so a stop reaches whatever it forks), under
`setpriv --pdeathsig KILL` (so it dies with the Python process that started it, even on
SIGKILL), and is stopped by an atexit hook and on SIGTERM. Its stdout and stderr go to
<log_dir>/<name>.log, whose tail every error message carries; with `cri_log`, in the CRI
log format a container runtime writes (`<RFC 3339 time> stdout F <line>`), which kwok reads
to answer `kubectl logs` for the simulated pods the process stands in for.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import IO

from devstack.errors import StackError

STOP_TIMEOUT = 10.0
_live: list[Service] = []


@dataclass
class Service:
    """A started process and its log file."""

    name: str
    log: Path
    popen: subprocess.Popen[bytes] = field(repr=False)
    stop_timeout: float = STOP_TIMEOUT

    @property
    def pid(self) -> int:
        return self.popen.pid

    def running(self) -> bool:
        return self.popen.poll() is None

    def tail(self, lines: int = 40) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def failure(self, what: str) -> StackError:
        """An error naming the process, saying what went wrong, with its log's tail."""
        state = "running" if self.running() else f"exited with {self.popen.returncode}"
        return StackError(
            f"{self.name} {what} ({state}); log {self.log}, last lines:\n{self.tail()}"
        )

    def stop(self, timeout: float | None = None) -> None:
        """SIGTERM the process group, SIGKILL it if it is still there after `timeout`
        (default: its `stop_timeout`)."""
        if self in _live:
            _live.remove(self)
        if self.popen.poll() is None:
            _signal_group(self.pid, signal.SIGTERM)
            try:
                self.popen.wait(self.stop_timeout if timeout is None else timeout)
            except subprocess.TimeoutExpired:
                _signal_group(self.pid, signal.SIGKILL)
                self.popen.wait()
        _signal_group(self.pid, signal.SIGKILL)  # anything it forked and left behind


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def spawn(
    name: str,
    argv: Sequence[str | Path],
    log_dir: Path,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    user: str | None = None,
    stop_timeout: float = STOP_TIMEOUT,
    cri_log: bool = False,
) -> Service:
    """Start argv in its own process group, logging to <log_dir>/<name>.log (in the CRI log
    format with `cri_log`); `stop` waits stop_timeout seconds after SIGTERM before it sends
    SIGKILL."""
    _install_signal_handler()
    log = log_dir / f"{name}.log"
    log_dir.mkdir(parents=True, exist_ok=True)
    wrapper = ["setpriv", "--pdeathsig", "KILL"]
    if user:
        wrapper += ["--reuid", user, "--regid", user, "--init-groups"]
    with log.open("ab") as out:
        try:
            popen = subprocess.Popen(
                [*wrapper, "--", *map(str, argv)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE if cri_log else out,
                stderr=subprocess.STDOUT,
                env={**os.environ, **(env or {})},
                cwd=cwd,
                start_new_session=True,
            )
        except FileNotFoundError as exc:
            raise StackError(f"cannot start {name}: {exc.filename} not found") from exc
    if popen.stdout is not None:
        threading.Thread(target=_write_cri_log, args=(popen.stdout, log), daemon=True).start()
    service = Service(name, log, popen, stop_timeout)
    _live.append(service)
    return service


def _write_cri_log(output: IO[bytes], log: Path) -> None:
    """Copy the process's output to `log` line by line, as a container runtime writes it."""
    with output, log.open("ab", buffering=0) as out:
        for line in output:
            stamp = datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
            out.write(b"%s stdout F %s\n" % (stamp.encode(), line.rstrip(b"\n")))


def run(argv: Sequence[str | Path], what: str, *, user: str | None = None) -> None:
    """Run a short setup command to completion; fail with its output."""
    wrapper = ["setpriv", "--reuid", user, "--regid", user, "--init-groups", "--"] if user else []
    result = subprocess.run(
        [*wrapper, *map(str, argv)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise StackError(f"{what} failed ({result.returncode}): {result.stderr or result.stdout}")


def wait_until(ready: Callable[[], bool], what: str, timeout: float, *watched: Service) -> None:
    """Poll `ready` until it holds; fail at once if a watched process exits, or after `timeout`."""
    deadline = time.monotonic() + timeout
    delay = 0.02
    while True:
        for service in watched:
            if not service.running():
                raise service.failure(f"exited before {what}")
        if ready():
            return
        if time.monotonic() > deadline:
            logs = "\n".join(str(s.failure("is running")) for s in watched)
            raise StackError(f"not {what} after {timeout:.0f} s\n{logs}")
        time.sleep(delay)
        delay = min(delay * 1.5, 0.25)


def stop_all() -> None:
    """Stop every process still running, newest first."""
    for service in reversed(list(_live)):
        service.stop()


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through finalizers and atexit


def _install_signal_handler() -> None:
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        # ValueError off the main thread: atexit and the parent-death signal still apply
        with contextlib.suppress(ValueError):
            signal.signal(signal.SIGTERM, _on_sigterm)


atexit.register(stop_all)
