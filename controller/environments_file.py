"""The environments declaration as the controller reads it: the file the chart mounts, read
again when it changes, so a platform team's change reaches a running controller without a
restart (a mounted ConfigMap is updated in place by the kubelet).

A changed file that does not load is logged and ignored: the last good declaration stays in
force, so a typo never makes every app's environment undeclared at once.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final

from plattr import environments
from plattr.environments import Environments, InvalidDeclaration

log = logging.getLogger(__name__)

CHECK_SECONDS: Final = 10.0
"""How often the file is looked at (a stat; it is read only when it changed)."""

_Stamp = tuple[int, int, int]


def _stamp(path: Path) -> _Stamp | None:
    """What tells a changed file: inode (the kubelet swaps a symlink), mtime and size."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    return (found.st_ino, found.st_mtime_ns, found.st_size)


class WatchedEnvironments:
    """The current declaration: the shipped one without a file, else the file's last good
    content. `current()` is cheap: it stats the file at most every `CHECK_SECONDS`."""

    def __init__(
        self,
        path: Path | None,
        *,
        check_seconds: float = CHECK_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._path = path
        self._check_seconds = check_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._stamp = _stamp(path) if path else None
        self._current = environments.load(path) if path else environments.shipped()
        self._checked = clock()

    def current(self) -> Environments:
        path = self._path
        if path is None:
            return self._current
        with self._lock:
            now = self._clock()
            if now - self._checked < self._check_seconds:
                return self._current
            self._checked = now
            stamp = _stamp(path)
            if stamp == self._stamp:
                return self._current
            self._stamp = stamp
            try:
                loaded = environments.load(path)
            except InvalidDeclaration as error:
                log.error(
                    "environments declaration not applied; the last good one stays in force",
                    extra={"file": str(path), "error": str(error)},
                )
                return self._current
            if loaded != self._current:
                log.info(
                    "environments declaration changed",
                    extra={"file": str(path), "environments": ",".join(loaded.names)},
                )
            self._current = loaded
            return loaded
