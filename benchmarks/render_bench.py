"""Renderer benchmarks: the models, the renderer, the CLI and the plugin.

1. Cold start: `plattr-cmp generate` for one app, as Argo CD runs it, against
   `kubectl kustomize` on a directory holding the equivalent plain manifests, alternated in
   the same run. The plugin runs from a venv holding exactly what the plugin image installs
   (plattr's base dependencies, nothing else), built under ~/.cache/plattr/.
2. Throughput: 1,000 varied apps validated, rendered and serialised in one process; peak RSS.
"""

from __future__ import annotations

import hashlib
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any, Final

from benchmarks.stats import summary_ms, time_command
from plattr.models import Application
from plattr.validation import decode
from plattr.yamlio import dump_all_compact
from renderer.options import RenderOptions
from renderer.render import render

ROOT: Final = Path(__file__).resolve().parent.parent
APP: Final = ROOT / "gitops-repo-template" / "apps" / "production" / "storefront"
GOLDEN: Final = ROOT / "tests" / "golden" / "production" / "storefront.yaml"
CACHE: Final = Path(os.environ.get("PLATTR_CACHE", Path.home() / ".cache" / "plattr"))
ROUNDS: Final = 40
APPS: Final = 1000


def plugin_venv() -> Path:
    """A venv with plattr's base install only, as in the plugin image (cached by deps)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    key = hashlib.sha256("\n".join(project["dependencies"]).encode()).hexdigest()[:12]
    venv = CACHE / f"plugin-venv-{key}"
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", str(ROOT)], check=True)
    else:
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "-q",
                "--no-deps",
                "--force-reinstall",
                str(ROOT),
            ],
            check=True,
        )
    return venv


def cold_start() -> None:
    venv = plugin_venv()
    with tempfile.TemporaryDirectory() as scratch:
        app = Path(scratch) / "apps" / "production" / "storefront"
        shutil.copytree(APP, app)
        plain = Path(scratch) / "plain"
        plain.mkdir()
        shutil.copy(GOLDEN, plain / "manifests.yaml")
        (plain / "kustomization.yaml").write_text("resources: [manifests.yaml]\n")
        env = {
            "PATH": os.environ["PATH"],
            "BASE_DOMAIN": "apps.example.com",
            "AWS_ACCOUNT_ID": "123456789012",
            "ARGOCD_APP_NAME": "production-storefront",
            "ARGOCD_APP_SOURCE_PATH": "apps/production/storefront",
        }
        plugin = [str(venv / "bin" / "plattr-cmp"), "generate"]
        kustomize = ["kubectl", "kustomize", str(plain)]
        plugin_times: list[float] = []
        kustomize_times: list[float] = []
        for _ in range(ROUNDS):
            plugin_times.append(time_command(plugin, str(app), env))
            kustomize_times.append(time_command(kustomize, str(plain), env))
    ratio = statistics.median(plugin_times) / statistics.median(kustomize_times)
    print(f"cold start, {ROUNDS} alternated runs each (one app, {APP.name}):")
    print(f"  plattr-cmp generate      {summary_ms(plugin_times)}")
    print(f"  kubectl kustomize (plain) {summary_ms(kustomize_times)}")
    print(f"  ratio plugin/kustomize (medians): {ratio:.2f}   target <= 1.0")


def varied_documents(count: int) -> list[dict[str, Any]]:
    frameworks = ["nextjs", "node", "python", "go", "java", "static", "custom"]
    environments = ["production", "staging", "uat"]
    documents = []
    for i in range(count):
        spec: dict[str, Any] = {
            "framework": frameworks[i % len(frameworks)],
            "environment": environments[i % len(environments)],
            "imageRef": f"123456789012.dkr.ecr.ca-central-1.amazonaws.com/apps:app{i}-{i:07x}",
            "scaling": {"min": 1 + i % 3, "max": 1 + i % 3 + i % 7},
            "database": {"enabled": i % 4 != 0},
        }
        if i % 2:
            spec["storage"] = {"enabled": True, "buckets": [{"name": "uploads"}]}
        if i % 5 == 0:
            spec["auth"] = {"enabled": True, "providers": ["google", "github"]}
        if i % 3 == 0:
            spec["env"] = [{"name": "LOG_LEVEL", "value": "info"}]
        documents.append(
            {
                "apiVersion": "platform.internal/v1alpha1",
                "kind": "Application",
                "metadata": {"name": f"app-{i}"},
                "spec": spec,
            }
        )
    return documents


def throughput() -> None:
    documents = varied_documents(APPS)
    options = RenderOptions(base_domain="apps.example.com", aws_account_id="123456789012")
    started = time.perf_counter()
    manifests = 0
    for document in documents:
        rendered = render(decode(document, Application), options)
        manifests += len(rendered)
    rendered_at = time.perf_counter()
    for document in documents:
        dump_all_compact(render(decode(document, Application), options))
    dumped_at = time.perf_counter()
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    validate_render = APPS / (rendered_at - started)
    with_output = APPS / (dumped_at - rendered_at)
    print(f"throughput, {APPS} varied apps in one process ({manifests} manifests):")
    print(f"  validate + render          {validate_render:8.0f} apps/s   target >= 2000")
    print(f"  validate + render + output {with_output:8.0f} apps/s   (the plugin's output format)")
    print(f"  peak RSS {peak_mib:.0f} MiB")


def main() -> None:
    cold_start()
    throughput()
