"""The atheris harness (fuzz_atheris.py) run for a bounded number of inputs, seeded with the
template apps' specs: libFuzzer finds no crash, and the number of inputs run is recorded."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.support.reliability_support import ROOT, bump

HARNESS = Path(__file__).with_name("fuzz_atheris.py")
RUNS = 200_000
SECONDS = 60


def test_atheris_finds_no_crash_in_the_parser_and_decoder(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for index, spec in enumerate(
        sorted((ROOT / "gitops-repo-template" / "apps").glob("*/*/*.yaml"))
    ):
        (corpus / f"seed-{index}").write_bytes(spec.read_bytes())
    result = subprocess.run(
        [sys.executable, str(HARNESS), f"-runs={RUNS}", f"-max_total_time={SECONDS}", str(corpus)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=SECONDS + 120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert not list(tmp_path.glob("crash-*"))
    done = re.search(r"#(\d+)\s+DONE", result.stderr)
    assert done, result.stderr[-2000:]
    bump("fuzz_cases.atheris", int(done.group(1)))
