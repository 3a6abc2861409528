"""`plattr set-image` edits in place and keeps the file; `plattr diff` shows what changes."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from cli.main import run

ROOT = Path(__file__).resolve().parent.parent.parent
FLAGS = ["--base-domain", "apps.example.com", "--aws-account-id", "123456789012"]

COMMENTED = """\
# Owned by the shop team. Keep the order below.
apiVersion: platform.internal/v1alpha1
kind: Application
metadata:
  name: shop   # the app
spec:
  environment: staging
  framework: node
  imageRef: "registry.example.com/shop:1.0.0"   # bumped by CI
  env:
      - name: GREETING
        value: 'hello: world'
  scaling: {min: 1, max: 3}
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    spec = tmp_path / "apps" / "staging" / "shop" / "application.yaml"
    spec.parent.mkdir(parents=True)
    spec.write_text(COMMENTED)
    return tmp_path


def test_set_image_changes_only_the_image_and_keeps_comments_order_and_quotes(
    repo: Path,
) -> None:
    args = ["set-image", "shop", "registry.example.com/shop:1.1.0", "--env", "staging"]
    assert run([*args, "--root", str(repo)]) == 0
    after = (repo / "apps/staging/shop/application.yaml").read_text()
    assert after == COMMENTED.replace("shop:1.0.0", "shop:1.1.0")


def test_set_image_twice_is_a_no_op(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["set-image", "shop", "registry.example.com/shop:1.0.0", "--env", "staging"]
    assert run([*args, "--root", str(repo)]) == 0
    assert "already at that image" in capsys.readouterr().out
    assert (repo / "apps/staging/shop/application.yaml").read_text() == COMMENTED


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (["set-image", "shop", "Not An Image", "--env", "staging"], 1, "not an image reference"),
        (["set-image", "nope", "r.example.com/x:1", "--env", "staging"], 2, "no spec for 'nope'"),
    ],
)
def test_set_image_refuses_bad_input_without_touching_the_file(
    repo: Path, capsys: pytest.CaptureFixture[str], args: list[str], code: int, fragment: str
) -> None:
    assert run([*args, "--root", str(repo)]) == code
    assert fragment in capsys.readouterr().err
    assert (repo / "apps/staging/shop/application.yaml").read_text() == COMMENTED


def test_diff_between_directories(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base, head = tmp_path / "base", tmp_path / "head"
    shutil.copytree(ROOT / "gitops-repo-template" / "apps", base)
    shutil.copytree(ROOT / "gitops-repo-template" / "apps", head)
    assert run(["diff", str(base), str(head), "--exit-code", *FLAGS]) == 0
    assert capsys.readouterr().out == ""
    spec = head / "uat" / "docs-site" / "application.yaml"
    spec.write_text(spec.read_text().replace("path: /docs", "path: /handbook"))
    assert run(["diff", str(base), str(head), "--exit-code", *FLAGS]) == 3
    out = capsys.readouterr().out
    assert "--- base/Ingress uat/docs-site" in out
    assert "-      - path: /docs" in out
    assert "+      - path: /handbook" in out


def test_diff_between_git_refs(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    git = ["git", "-c", "user.email=ci@example.com", "-c", "user.name=ci"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "base"], cwd=repo, check=True)
    monkeypatch.chdir(repo)
    run(["set-image", "shop", "registry.example.com/shop:2.0.0", "--env", "staging"])
    subprocess.run([*git, "commit", "-qam", "bump"], cwd=repo, check=True)
    capsys.readouterr()
    assert run(["diff", "HEAD~1", "HEAD", *FLAGS]) == 0
    out = capsys.readouterr().out
    assert "+        image: registry.example.com/shop:2.0.0" in out
    assert "+++ /dev/null" not in out
