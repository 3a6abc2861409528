"""Monorepo benchmark: what one commit costs, in plugin runs, with many apps in one GitOps repo,
against real Argo CD (the local platform's: argocd-repo-server with argocd-cmp-server running
`plattr-cmp generate`, the application and ApplicationSet controllers, and a loopback Git
server whose pushes reach Argo CD by webhook).

APPS apps (`MONOREPO_BENCH_APPS`, default 200) in staging are pushed and synced through the
chart's ApplicationSet, which gives each generated Application
`argocd.argoproj.io/manifest-generate-paths: .` (its own directory). Then:
1. a commit changing one app's image: the plugin runs it caused, and the seconds from the push
   until that app is Synced at the commit;
2. a commit changing only a file outside apps/: the plugin runs it caused;
3. the baseline, in the same run: the same ApplicationSet without the annotation, and again a
   commit changing one app.
A commit's plugin runs are counted once every Application has compared itself with it (each
reports the commit as its sync revision), from argocd-cmp-server's log (one GenerateManifest
call per run). Nothing is asserted: the figures are for people.
"""

from __future__ import annotations

import copy
import os
import tempfile
import time
from pathlib import Path
from typing import Any, Final

import yaml

from benchmarks.figures import record
from devstack.argocd import (
    NAMESPACE,
    TEMPLATE,
    ArgoCD,
    platform_objects,
    seed_gitops_repo,
    start_argocd,
)
from devstack.controlplane import start_control_plane
from devstack.gitclone import Clone
from devstack.process import wait_until

APPS: Final = int(os.environ.get("MONOREPO_BENCH_APPS", "200"))
ENVIRONMENT: Final = "staging"
APPLICATIONS: Final = f"/apis/argoproj.io/v1alpha1/namespaces/{NAMESPACE}/applications"
GENERATE_PATHS: Final = "argocd.argoproj.io/manifest-generate-paths"
TIMEOUT: Final = 1800.0


def app_name(index: int) -> str:
    return f"app-{index:03d}"


def app(index: int, tag: str = "1.0.0") -> dict[str, Any]:
    """A small app: no Ingress, no services; only its image changes between commits."""
    return {
        "apiVersion": "platform.internal/v1alpha1",
        "kind": "Application",
        "metadata": {"name": app_name(index)},
        "spec": {
            "framework": "custom",
            "environment": ENVIRONMENT,
            "imageRef": f"registry.example.test/{app_name(index)}:{tag}",
            "port": 8080,
            "ingress": {"enabled": False},
        },
    }


def plugin_runs(argocd: ArgoCD) -> int:
    """GenerateManifest calls argocd-cmp-server has finished so far (one per plugin run)."""
    (server,) = (s for s in argocd.processes if s.name == "argocd-cmp-server")
    text = server.log.read_text(errors="replace")
    return sum(
        1
        for line in text.splitlines()
        if 'msg="finished call"' in line and "grpc.method=GenerateManifest" in line
    )


def sync_states(argocd: ArgoCD) -> dict[str, tuple[str, str]]:
    """Each generated Application's (sync status, revision it compared)."""
    items = argocd.api.request("GET", APPLICATIONS)["items"]
    states = {}
    for item in items:
        sync = (item.get("status") or {}).get("sync") or {}
        states[item["metadata"]["name"]] = (sync.get("status", ""), sync.get("revision", ""))
    return states


def synced_at(argocd: ArgoCD, revision: str, names: list[str] | None = None) -> bool:
    """Every Application (or those `names`, as Argo CD names them) Synced at `revision`."""
    states = sync_states(argocd)
    wanted = names or list(states)
    return len(states) == APPS and all(states.get(n) == ("Synced", revision) for n in wanted)


def commit_cost(
    argocd: ArgoCD, clone: Clone, change: Any, message: str, changed: list[str]
) -> tuple[int, float, float]:
    """Plugin runs caused by one commit; seconds from its push until the `changed` apps are
    Synced at it, and until every app is (the others compare again at Argo CD's periodic
    refresh, every 3 minutes, when the webhook refreshed only the changed ones)."""
    before = plugin_runs(argocd)
    change()
    started = time.monotonic()
    revision = clone.push(message)
    names = [f"{ENVIRONMENT}-{name}" for name in changed]
    wait_until(lambda: synced_at(argocd, revision, names), f"{names} at {revision}", TIMEOUT)
    changed_s = time.monotonic() - started
    wait_until(lambda: synced_at(argocd, revision), f"every app at {revision}", TIMEOUT)
    every_s = time.monotonic() - started
    time.sleep(5)  # a run still under way is counted too
    return plugin_runs(argocd) - before, changed_s, every_s


def one_app_commit(argocd: ArgoCD, clone: Clone, index: int, suffix: str) -> dict[str, float]:
    """A commit changing app `index`'s image: its plugin runs, the seconds until that app is
    Synced at it, and until every app is; the figures' names end in `suffix`."""
    runs, changed_s, every_s = commit_cost(
        argocd,
        clone,
        lambda: clone.write_app(app(index, "2.0.0")),
        f"Change {app_name(index)}",
        [app_name(index)],
    )
    print(
        f"a commit changing one app{' (' + suffix.strip('_') + ')' if suffix else ''}: {runs}"
        f" plugin runs; that app Synced {changed_s:.1f} s after the push, every app compared"
        f" with it after {every_s:.1f} s"
    )
    return {
        f"plugin_runs_one_app_commit{suffix}": runs,
        f"one_app_commit_to_synced_s{suffix}": changed_s,
        f"one_app_commit_every_app_compared_s{suffix}": every_s,
    }


def run(state: Path) -> dict[str, float]:
    plane = start_control_plane(state)
    argocd = start_argocd(plane, state)
    try:
        content = state / "content"
        content.mkdir()
        (content / "plattr-settings.yaml").write_text(
            (TEMPLATE / "plattr-settings.yaml").read_text()
        )
        seed_gitops_repo(argocd, content)
        clone = Clone.of(argocd.repo.url, state / "clone")
        for index in range(APPS):
            clone.write_app(app(index))
        objects = platform_objects(argocd.repo.url, argocd.environments_file)
        for obj in objects:
            argocd.api.apply(obj)
        print(f"{APPS} apps pushed to one GitOps repo; Argo CD renders each with plattr-cmp")
        print(f"(the baseline: the same ApplicationSet without {GENERATE_PATHS})")
        every = [app_name(i) for i in range(APPS)]
        runs, _, seconds = commit_cost(argocd, clone, lambda: None, f"Add {APPS} apps", every)
        print(f"first sync of every app: {seconds:.1f} s, {runs} plugin runs")
        figures: dict[str, float] = {"first_sync_s": seconds, "plugin_runs_first_sync": runs}

        figures |= one_app_commit(argocd, clone, 0, "")

        def touch_readme() -> None:
            (clone.path / "README.md").write_text("Apps of the platform.\n")

        runs, _, every_s = commit_cost(argocd, clone, touch_readme, "Add a README", [])
        print(
            f"a commit outside apps/: {runs} plugin runs; every app compared after {every_s:.1f} s"
        )
        figures |= {"plugin_runs_other_file_commit": runs}

        for obj in objects:
            if obj["kind"] == "ApplicationSet":
                bare = copy.deepcopy(obj)
                metadata = bare["spec"]["template"]["metadata"]
                annotations = metadata.pop("annotations")
                annotations.pop(GENERATE_PATHS)
                if annotations:
                    metadata["annotations"] = annotations
                argocd.api.apply(bare)
        wait_until(lambda: not any(_annotated(argocd)), "the annotation gone", TIMEOUT)
        figures |= one_app_commit(argocd, clone, 1, "_baseline")
        return {k: round(v, 1) for k, v in figures.items()}
    finally:
        argocd.stop()
        plane.stop()


def _annotated(argocd: ArgoCD) -> list[str]:
    items = argocd.api.request("GET", APPLICATIONS)["items"]
    return [
        i["metadata"]["name"]
        for i in items
        if GENERATE_PATHS in (i["metadata"].get("annotations") or {})
    ]


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="plattr-monorepo-") as tmp:
        figures = run(Path(tmp))
    record({f"monorepo.{APPS}_apps.{key}": value for key, value in figures.items()})
    print(yaml.safe_dump(figures, sort_keys=True), end="")
