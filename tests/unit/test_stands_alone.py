"""The repository stands alone: what it says, a clone can check.

Every tracked file is read (as `git ls-files` lists them) and searched for what points
outside a clone: a path into a sibling folder the clone does not have, a citation of an
operations document that is not in the repository, a citation of the project tracker's
issues or notes, and a name of the machine something was built or measured on. The facts
belong here instead: in `docs/architecture.md`, `docs/figures.md`, `controller/README.md`.

The patterns are written so that their own source text does not match them, so this file is
searched like every other.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Final, NamedTuple

import pytest

ROOT: Final = Path(__file__).resolve().parent.parent.parent

# Words between which a sentence may break: spaces, newlines and comment leaders.
_GAP: Final = r"[\s#*/>\"']+"


class Rule(NamedTuple):
    what: str
    fix: str
    pattern: re.Pattern[str]


RULES: Final = {
    "outside-path": Rule(
        "a path into a folder beside the repository",
        "bring the content into docs/ and link that",
        re.compile(r"\.\./shared/|(?<![\w.])/wor[k]/", re.IGNORECASE),
    ),
    "outside-document": Rule(
        "a citation of an operations document that is not in the repository",
        "state the fact itself, or cite our own docs (e.g. controller/README.md)",
        re.compile(rf"\b(the|team|operations|operator's){_GAP}guide\b", re.IGNORECASE),
    ),
    "outside-document-name": Rule(
        "a name (identifier, file) made after an operations document not in the repository",
        "name it after what it is (e.g. RETRY_SCHEDULE, example-application.yaml)",
        re.compile(r"(?<![a-z])gu[i]des?_|_gu[i]des?(?![a-z])|\bgu[i]de-example\b", re.IGNORECASE),
    ),
    "tracker": Rule(
        "a citation of the project tracker's issues or notes",
        "state the fact, or the figure with the command that measures it (docs/figures.md)",
        re.compile(
            rf"\bclosing{_GAP}notes?\b|\bissues?{_GAP}#?[0-9]|\(issu[e]:"
            rf"|\bthe{_GAP}[\w']+{_GAP}issue\b(?!{_GAP}(in|with|of)\b)",
            re.IGNORECASE,
        ),
    ),
    "machine": Rule(
        "the name of a machine something was built or measured on",
        "say what it needs (e.g. Go >= 1.24) or its size (a 2-core machine)",
        re.compile(
            rf"\bdevelopment{_GAP}machine\b|\bthis{_GAP}machine\b"
            rf"|\bthe{_GAP}machine's\b",
            re.IGNORECASE,
        ),
    ),
}


def tracked_text_files() -> list[Path]:
    listing = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    return [ROOT / name for name in listing.split("\0") if name]


def read_text(path: Path) -> str | None:
    """The file's text, or None for a binary file (or a tracked file deleted in the worktree)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    if b"\0" in data:
        return None
    try:
        return data.decode()
    except UnicodeDecodeError:
        return None


def findings(rule: Rule, text: str) -> list[tuple[int, str]]:
    """(line number, the line) of each line where a match of `rule` starts, in order."""
    lines = text.splitlines()
    starts = sorted({text.count("\n", 0, match.start()) for match in rule.pattern.finditer(text)})
    return [(index + 1, lines[index].strip()) for index in starts]


@pytest.fixture(scope="module")
def texts() -> dict[str, str]:
    files = tracked_text_files()
    assert files, f"git ls-files listed nothing in {ROOT}"
    return {
        str(path.relative_to(ROOT)): text for path in files if (text := read_text(path)) is not None
    }


@pytest.mark.parametrize("rule_name", sorted(RULES))
def test_no_tracked_file_points_outside_the_repository(
    rule_name: str, texts: dict[str, str]
) -> None:
    rule = RULES[rule_name]
    problems = [
        f"{name}:{line}: {excerpt}"
        for name, text in sorted(texts.items())
        for line, excerpt in findings(rule, text)
    ]
    listing = "\n".join(problems)
    assert not problems, f"{len(problems)} line(s) with {rule.what} ({rule.fix}):\n{listing}"


# The phrases are assembled from parts, so that this file's source holds none of them whole.
GUIDE, SHARED, NOTE = "gu" + "ide", ".." + "/shared/", "closing " + "note"


@pytest.mark.parametrize(
    ("rule_name", "text"),
    [
        ("outside-path", f"see [the design]({SHARED}ARCHITECTURE.md)"),
        ("outside-path", "read /" + "work/shared/reference/"),
        ("outside-document", f"retries, as the {GUIDE} says"),
        ("outside-document", f"the team {GUIDE} in reference/"),
        ("outside-document", f"The {GUIDE}'s retry schedule"),
        ("outside-document", f"see the operations {GUIDE} of the earlier version"),
        ("outside-document", f"# Rotated by hand as the\n    # {GUIDE}'s section describes"),
        ("outside-document-name", f"{GUIDE.upper()}_RETRIES: Final = RetrySchedule()"),
        ("outside-document-name", f"def test_the_{GUIDE}s_example_validates() -> None:"),
        ("outside-document-name", f"fixtures/{GUIDE}-example.yaml"),
        ("tracker", f"Figures are in the {NOTE}s of the issues."),
        ("tracker", '"""Controller benchmark (issue' + ' 4), on the local stack."""'),
        ("tracker", "Renderer benchmarks (issue" + ": the renderer)."),
        ("tracker", "The dashboard " + "issue extends it"),
        ("tracker", "no CRDs yet (the chart's " + "issue adds them)"),
        ("machine", "from the run on the 2-core development " + "machine"),
        ("machine", "a banner about this " + "machine's Node 20"),
    ],
)
def test_each_rule_catches_what_it_is_for(rule_name: str, text: str) -> None:
    assert findings(RULES[rule_name], text), (rule_name, text)


@pytest.mark.parametrize(
    "text",
    [
        "ruff follows the style " + GUIDE + " of the project",
        "coverage-" + GUIDE + "d fuzzing of the spec parser",
        "kustomization: components: [" + ".." + "/shared]",
        "github.rest.issues.listComments({owner, repo, issue_number})",
        "the same issue with kwok's nodes, a known issue in kustomize",
        "both commands work on a fresh machine",
        "the waiter state machine's logging",
        "measured on a 2-core machine",
        "/home/argocd/cmp-server/plugins",
    ],
)
def test_no_rule_catches_ordinary_text(text: str) -> None:
    caught = [name for name, rule in RULES.items() if findings(rule, text)]
    assert not caught, (text, caught)
