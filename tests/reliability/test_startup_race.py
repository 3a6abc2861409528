"""The controller decodes Applications and PreviewEnvironments on several threads as soon as
it starts (reflectors, workers, the dashboard). msgspec builds a model's type information on
first use, and two threads doing that at once crash the process (SIGSEGV in msgspec._core):
found by the 20-SIGKILL test, where a restarted controller died before it was ready. Each run
below is a fresh process whose threads decode the models for the first time together, after
the controller's start-up call `controller.subjects.prepare_models()` on the main thread."""

from __future__ import annotations

import subprocess
import sys

from tests.support.reliability_support import ROOT, bump

RUNS = 100
FIRST_USE_RACE = """
import threading
import msgspec
from controller.subjects import prepare_models
from plattr.models import Application, ApplicationStatus, PreviewEnvironment
from plattr.validation import decode

meta = {"name": "a", "namespace": "staging", "generation": 1, "resourceVersion": "1"}
app = {"apiVersion": "platform.internal/v1alpha1", "kind": "Application", "metadata": meta,
       "spec": {"framework": "python", "environment": "staging", "imageRef": "r.example.com/a:1",
                "database": {"enabled": True},
                "storage": {"enabled": True, "buckets": [{"name": "u"}]}},
       "status": {"phase": "Running", "conditions": [{"type": "DatabaseReady", "status": "True",
                  "reason": "Provisioned", "message": "m", "observedGeneration": 1,
                  "lastTransitionTime": "2026-01-01T00:00:00Z"}]}}
preview = {"apiVersion": "platform.internal/v1alpha1", "kind": "PreviewEnvironment",
           "metadata": {"name": "a-pr-1", "namespace": "preview-a-pr-1"},
           "spec": {"application": "a", "pullRequest": 1, "imageRef": "r.example.com/a:1"}}
prepare_models()  # what the controller does at start-up, before its threads
start = threading.Barrier(8)

def work(i):
    start.wait()
    for _ in range(3):
        decode(app, Application) if i % 2 else decode(preview, PreviewEnvironment)
        msgspec.json.encode(msgspec.convert(app["status"], ApplicationStatus))

threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
"""


def test_models_decoded_first_on_many_threads_do_not_crash_the_controller() -> None:
    crashed = []
    for _ in range(RUNS):
        result = subprocess.run(
            [sys.executable, "-c", FIRST_USE_RACE],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        bump("startup_race_runs")
        if result.returncode != 0:
            crashed.append((result.returncode, result.stderr[-300:]))
    assert not crashed, f"{len(crashed)} of {RUNS} processes crashed: {crashed[:3]}"
