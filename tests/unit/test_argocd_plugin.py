"""The Argo CD wiring of the plugin: plugin.yaml, the repo-server sidecar, the image."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import yaml

from plattr.environments import ENVIRONMENTS_FILE_VARIABLE

ROOT = Path(__file__).resolve().parent.parent.parent
ARGOCD = ROOT / "argocd"


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def test_plugin_runs_our_console_script_and_discovers_app_directories() -> None:
    plugin = load(ARGOCD / "plugin.yaml")
    assert plugin["kind"] == "ConfigManagementPlugin"
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    command = plugin["spec"]["generate"]["command"]
    assert command == ["plattr-cmp", "generate"]
    assert scripts[command[0]] == "cli.cmp:main"
    assert plugin["spec"]["discover"]["fileName"] == "./application.yaml"
    assert plugin["spec"]["preserveFileMode"] is False


def test_announced_parameters_are_exactly_those_the_plugin_reads() -> None:
    plugin = load(ARGOCD / "plugin.yaml")
    announced = {p["name"] for p in plugin["spec"]["parameters"]["static"]}
    source = (ROOT / "cli" / "cmp.py").read_text()
    read = set(re.findall(r'(?<![.\w])get\("([a-z-]+)"\)', source))
    assert announced == read


def sidecars() -> list[dict[str, Any]]:
    patch = load(ARGOCD / "repo-server" / "plattr-sidecar.yaml")
    values = load(ARGOCD / "repo-server" / "argo-cd-values.yaml")
    return [
        patch["spec"]["template"]["spec"]["containers"][0],
        values["repoServer"]["extraContainers"][0],
    ]


def test_sidecar_runs_the_cmp_server_as_user_999_with_the_documented_mounts() -> None:
    patch_container, values_container = sidecars()
    assert patch_container == values_container, "the kustomize patch and Helm values differ"
    assert patch_container["command"] == ["/var/run/argocd/argocd-cmp-server"]
    assert patch_container["securityContext"]["runAsUser"] == 999
    mounts = {m["mountPath"]: m["name"] for m in patch_container["volumeMounts"]}
    assert mounts["/var/run/argocd"] == "var-files"
    assert mounts["/home/argocd/cmp-server/plugins"] == "plugins"
    assert mounts["/tmp"] == "plattr-cmp-tmp"  # its own /tmp, not the repo-server's


def test_sidecar_reads_the_environments_declaration_the_chart_hands_to_argocd() -> None:
    """The ConfigMap the chart makes in Argo CD's namespace, mounted as a directory (updates
    arrive), optional (the repo-server starts before the chart), named by the variable the
    plugin reads."""
    patch = load(ARGOCD / "repo-server" / "plattr-sidecar.yaml")["spec"]["template"]["spec"]
    values = load(ARGOCD / "repo-server" / "argo-cd-values.yaml")["repoServer"]
    container = sidecars()[0]
    env = {e["name"]: e["value"] for e in container["env"]}
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    assert (
        Path(env[ENVIRONMENTS_FILE_VARIABLE]).parent.as_posix()
        == (mounts["plattr-environments"]["mountPath"])
    )
    assert "subPath" not in mounts["plattr-environments"]
    for volumes in (patch["volumes"], values["volumes"]):
        (volume,) = (v for v in volumes if v["name"] == "plattr-environments")
        assert volume["configMap"] == {"name": "plattr-environments", "optional": True}


def test_overlay_patches_the_upstream_install_with_the_sidecar() -> None:
    kustomization = load(ARGOCD / "repo-server" / "kustomization.yaml")
    assert kustomization["resources"][0].endswith("/manifests/install.yaml")
    assert {"path": "plattr-sidecar.yaml"} in kustomization["patches"]


def test_plugin_image_is_multi_stage_pinned_non_root_and_copies_what_exists() -> None:
    dockerfile = (ARGOCD / "Dockerfile").read_text()
    froms = re.findall(r"^FROM (\S+)", dockerfile, re.MULTILINE)
    assert len(froms) >= 2
    for base in re.findall(r"^ARG \w+_IMAGE=(\S+)", dockerfile, re.MULTILINE) + froms:
        assert ":latest" not in base
        assert base.startswith("$") or re.search(r":\d+\.\d+", base), base
    assert re.search(r"^USER 999$", dockerfile, re.MULTILINE)
    for source in re.findall(r"^COPY (?!--from)(.+) \S+$", dockerfile, re.MULTILINE):
        for path in source.split():
            assert (ROOT / path).exists(), f"Dockerfile copies {path}, which does not exist"
    assert "/home/argocd/cmp-server/config/plugin.yaml" in dockerfile
