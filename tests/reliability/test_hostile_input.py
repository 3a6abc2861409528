"""Hostile input against the spec parser and the Argo CD plugin: fuzzed YAML and documents,
names built to break out (SQL, shell), path traversal in the app directory and in
kustomization files, oversized and nested YAML, alias bombs. Each is rejected cleanly (exit
1, one paragraph naming the field or the file, no traceback, bounded in time); nothing is
executed (a canary file an injection would create never appears) and nothing outside the
app directory is read (a secret canary beside it never reaches stdout or stderr)."""

from __future__ import annotations

import io
import os
import string
import uuid
from contextlib import chdir, redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli import cmp
from plattr.environments import shipped
from plattr.models import Application
from plattr.validation import InvalidDocument, decode
from plattr.yamlio import MAX_DEPTH, MAX_DOCUMENT_BYTES, YamlError, load_all
from renderer.errors import SpecErrors
from renderer.sources import decode_applications, read_specs
from tests.support.reliability_support import APP_SPEC, argocd_env, bounded, bump, run_plugin

FUZZ = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
SECRET = "CANARY-SECRET-" + uuid.uuid4().hex
"""Written beside the app directory; must never be read into output or errors."""

# --- strategies ---------------------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(["production", "python", "Delete", "", "0x1F", "1e309", "~", "y", "no"]),
)
FIELDS = [
    "framework", "environment", "imageRef", "database", "storage", "buckets", "name",
    "public", "auth", "providers", "scaling", "min", "max", "env", "value", "port",
    "ingress", "hosts", "probes", "resources", "labels", "deletionPolicy", "enabled",
]  # fmt: skip
json_like = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(max_size=12) | st.sampled_from(FIELDS), children, max_size=5),
    ),
    max_leaves=25,
)


@st.composite
def mutated_specs(draw: st.DrawFn) -> dict[str, Any]:
    """A valid-looking Application with random parts replaced by arbitrary values."""
    spec: dict[str, Any] = {
        "framework": "python",
        "environment": "staging",
        "imageRef": "registry.example.com/team/app:1.0.0",
        "database": {"enabled": True},
        "storage": {"enabled": True, "buckets": [{"name": "uploads"}]},
        "auth": {"enabled": True, "providers": ["google"]},
        "scaling": {"min": 1, "max": 3},
    }
    for _ in range(draw(st.integers(1, 4))):
        field = draw(st.sampled_from([*spec, *FIELDS]))
        spec[field] = draw(json_like)
    name = draw(st.one_of(st.just("app"), st.text(max_size=70), scalars))
    return {
        "apiVersion": "platform.internal/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name},
        "spec": spec,
    }


def _splice(text: str, junk: str, at: int) -> str:
    return text[:at] + junk + text[at:]


yaml_alphabet = st.sampled_from(list(":-[]{}&*!|>'\"%@`#,?\n\t ") + list(string.ascii_letters))
yaml_text = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=yaml_alphabet, max_size=300),
    st.builds(
        lambda spec, junk, at: _splice(yaml.safe_dump(spec, sort_keys=False), junk, at),
        mutated_specs(),
        st.text(alphabet=yaml_alphabet, max_size=20),
        st.integers(0, 400),
    ),
)

# --- the parser ----------------------------------------------------------------------------


def _decodes_or_names_the_field(document: object) -> None:
    with bounded("decode"):
        try:
            decode(document, Application)
        except InvalidDocument as error:
            _assert_names_the_field(error, document)


def _assert_names_the_field(error: InvalidDocument, document: object) -> None:
    assert error.errors, "an InvalidDocument with no error in it"
    for field_error in error.errors:
        assert field_error.message, field_error
        if isinstance(document, dict):  # by its path, or (a rule on the whole document,
            # such as the apiVersion's) by starting its message with the field's name
            named = field_error.path or field_error.message.split(" ", 1)[0] in document
            assert named, f"a rejection that names no field: {field_error}"
        assert "Traceback" not in field_error.message


@FUZZ
@given(document=st.one_of(mutated_specs(), json_like))
def test_fuzzed_documents_decode_or_every_error_names_its_field(document: Any) -> None:
    bump("fuzz_cases.decode")
    _decodes_or_names_the_field(document)


@FUZZ
@given(text=yaml_text)
def test_fuzzed_yaml_parses_or_is_rejected_with_its_source(text: str) -> None:
    bump("fuzz_cases.yaml")
    with bounded("load_all"):
        try:
            documents = load_all(text, "apps/x/application.yaml")
        except YamlError as error:
            rejection = str(error)
        else:
            rejection = ""
    if rejection:
        assert rejection.startswith("apps/x/application.yaml"), rejection
        return
    for document in documents:
        if isinstance(document, dict):
            _decodes_or_names_the_field(document)


@FUZZ
@given(text=yaml_text)
def test_fuzzed_spec_files_are_read_or_reported_with_file_and_line(
    tmp_path: Path, text: str
) -> None:
    bump("fuzz_cases.spec_file")
    spec = tmp_path / "application.yaml"
    spec.write_text(text, encoding="utf-8")
    with bounded("read_specs"):
        try:
            decode_applications(read_specs([spec]), shipped())
        except SpecErrors as errors:
            for problem in errors.problems:
                assert problem.source == str(spec)
                assert str(problem.error)


def test_a_key_that_looks_like_an_index_is_reported_with_file_and_line(tmp_path: Path) -> None:
    """Found by hypothesis: the unknown key `[]` made the error's line lookup raise."""
    document = yaml.safe_load(APP_SPEC.format(name="app"))
    document["spec"]["database"] = {"[]": None}
    spec = tmp_path / "application.yaml"
    spec.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    with pytest.raises(SpecErrors) as caught:
        decode_applications(read_specs([spec]), shipped())
    (problem,) = caught.value.problems
    text = spec.read_text()
    line = text[: text.index("'[]'")].count("\n") + 1
    assert (problem.source, problem.line) == (str(spec), line)
    assert "spec.database.[]: unknown field" in str(problem.error)


# --- the plugin entry point, in process -----------------------------------------------------

setting_values = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "$(touch CANARY)",
            "`touch CANARY`",
            "; touch CANARY",
            "a' OR '1'='1",
            "../../../etc/passwd",
            "0",
            "-1",
            "99999999999999999999",
            "7d",
            "0m",
            "abcdef0",
            "\x00",
            "[]",
            '[{"name": "base-domain"}]',
            '[{"name": "base-domain", "string": 5}]',
            "{}",
        ]
    ),
)
setting_names = st.sampled_from(
    [
        "BASE_DOMAIN",
        "ARGOCD_ENV_BASE_DOMAIN",
        "PARAM_BASE_DOMAIN",
        "AWS_ACCOUNT_ID",
        "ARGOCD_ENV_ENVIRONMENT",
        "ARGOCD_ENV_PREVIEW_PR",
        "ARGOCD_ENV_PREVIEW_HEAD_SHA",
        "ARGOCD_ENV_PREVIEW_IMAGE_TAG",
        "ARGOCD_ENV_PREVIEW_TTL",
        "ARGOCD_APP_PARAMETERS",
        "KUBE_API_VERSIONS",
        "ARGOCD_APP_SOURCE_PATH",
    ]
)


def _generate_in_process(app_dir: Path, env: dict[str, str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with chdir(app_dir), redirect_stdout(out), redirect_stderr(err):
        code = cmp.run(["generate"], env)
    return code, out.getvalue(), err.getvalue()


@FUZZ
@given(
    spec=st.one_of(mutated_specs().map(lambda d: yaml.safe_dump(d, sort_keys=False)), yaml_text),
    overrides=st.dictionaries(setting_names, setting_values, max_size=4),
)
def test_fuzzed_plugin_runs_print_manifests_or_one_clear_paragraph(
    tmp_path_factory: pytest.TempPathFactory, spec: str, overrides: dict[str, str]
) -> None:
    bump("fuzz_cases.plugin")
    app_dir = tmp_path_factory.mktemp("repo") / "apps" / "staging" / "hostile"
    app_dir.mkdir(parents=True)
    (app_dir / "application.yaml").write_text(spec, encoding="utf-8")
    env = argocd_env(app_dir, **{k: v.replace("\x00", "") for k, v in overrides.items()})
    with bounded("plattr-cmp generate"):
        code, stdout, stderr = _generate_in_process(app_dir, env)
    assert "internal error" not in stderr, stderr  # our own bug, caught at the top
    assert "Traceback" not in stderr
    if code == 0:
        documents = list(yaml.safe_load_all(stdout))
        assert documents, "exit 0 with an empty stream would make Argo CD prune the app"
        assert all({"apiVersion", "kind", "metadata"} <= d.keys() for d in documents)
        assert stderr == ""
    else:
        assert stdout == ""
        assert stderr.startswith("plattr-cmp: cannot render Argo CD app"), stderr
        assert len(stderr.strip().splitlines()) >= 2, "the paragraph says what is wrong"
    assert not (app_dir / "CANARY").exists()


# --- names and values built to break out ----------------------------------------------------

SQL_NAMES = [
    "x'; DROP TABLE users; --",
    'a"; DROP SCHEMA public CASCADE; --',
    "robert'); DROP TABLE students;--",
    "a b",
    "app$1",
    "app_staging",
    "APP",
    "pg_catalog",
    "a" * 200,
]
SHELL_VALUES = [
    "$(touch {canary})",
    "`touch {canary}`",
    "a; touch {canary}",
    "a && touch {canary}",
    "a | tee {canary}",
    "a\ntouch {canary}",
    "${{IFS}}touch${{IFS}}{canary}",
]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A GitOps checkout at tmp/repo, with a secret canary beside (outside) it."""
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.yaml").write_text(
        f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: stolen}}\ndata: {{token: {SECRET}}}\n"
    )
    (tmp_path / "outside" / "secret.txt").write_text(SECRET + "\n")
    app = tmp_path / "repo" / "apps" / "staging" / "hostile"
    app.mkdir(parents=True)
    return app


def _spec(**spec: Any) -> str:
    document = yaml.safe_load(APP_SPEC.format(name="hostile"))
    name = spec.pop("name", None)
    if name is not None:
        document["metadata"]["name"] = name
    document["spec"].update(spec)
    return yaml.safe_dump(document, sort_keys=False)


def _assert_refused(result: Any, *fragments: str) -> None:
    assert result.returncode == 1, (result.returncode, result.stdout[:500], result.stderr)
    assert result.stdout == ""
    assert result.stderr.startswith("plattr-cmp: cannot render Argo CD app 'hostile' (project")
    assert "Traceback" not in result.stderr
    assert "internal error" not in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr
    assert SECRET not in result.stderr


@pytest.mark.parametrize("name", SQL_NAMES)
def test_sql_in_the_app_name_is_refused_naming_metadata_name(repo: Path, name: str) -> None:
    bump("hostile_inputs")
    (repo / "application.yaml").write_text(_spec(name=name))
    _assert_refused(run_plugin(repo, argocd_env(repo)), "metadata.name: must be")


@pytest.mark.parametrize("name", [*SQL_NAMES, "../../x", "a/b", "-x", "x-"])
def test_sql_in_a_bucket_name_is_refused_naming_the_bucket(repo: Path, name: str) -> None:
    bump("hostile_inputs")
    storage = {"enabled": True, "buckets": [{"name": "ok"}, {"name": name}]}
    (repo / "application.yaml").write_text(_spec(storage=storage))
    _assert_refused(run_plugin(repo, argocd_env(repo)), "spec.storage.buckets[1].name")


@pytest.mark.parametrize("template", SHELL_VALUES)
@pytest.mark.parametrize(
    "field",
    ["name", "imageRef", "framework", "deletionPolicy", "ingress.path", "labels", "ingress.hosts"],
)
def test_shell_metacharacters_in_spec_fields_are_refused_and_never_run(
    repo: Path, tmp_path: Path, template: str, field: str
) -> None:
    bump("hostile_inputs")
    canary = tmp_path / "INJECTED"
    value = template.format(canary=canary)
    spec: dict[str, Any] = {
        "name": {"name": value},
        "imageRef": {"imageRef": value},
        "framework": {"framework": value},
        "deletionPolicy": {"deletionPolicy": value},
        "ingress.path": {"ingress": {"path": value}},
        "labels": {"labels": {"team": value}},
        "ingress.hosts": {"ingress": {"hosts": [value]}},
    }[field]
    (repo / "application.yaml").write_text(_spec(**spec))
    result = run_plugin(repo, argocd_env(repo))
    field_path = "metadata.name" if field == "name" else f"spec.{field}"
    _assert_refused(result, field_path.removesuffix(".hosts"))
    assert not canary.exists(), f"{value!r} in {field} was executed"


@pytest.mark.parametrize("template", SHELL_VALUES)
def test_shell_metacharacters_in_free_text_render_as_data_only(
    repo: Path, tmp_path: Path, template: str
) -> None:
    """command, args and env values are the app's own: they render verbatim, never run."""
    bump("hostile_inputs")
    canary = tmp_path / "INJECTED"
    value = template.format(canary=canary)
    (repo / "application.yaml").write_text(
        _spec(command=[value], args=[value], env=[{"name": "X", "value": value}])
    )
    result = run_plugin(repo, argocd_env(repo))
    assert result.returncode == 0, result.stderr
    deployment = next(d for d in yaml.safe_load_all(result.stdout) if d["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == [value]
    assert container["args"] == [value]
    assert {"name": "X", "value": value} in container["env"]
    assert not canary.exists()


PLUGIN_SETTINGS = [
    ("ARGOCD_ENV_PREVIEW_PR", "1; touch {canary}", "preview PR number"),
    ("ARGOCD_ENV_PREVIEW_PR", "0", "preview PR number"),
    ("ARGOCD_ENV_PREVIEW_HEAD_SHA", "$(touch {canary})", "preview head SHA"),
    ("ARGOCD_ENV_PREVIEW_IMAGE_TAG", "`touch {canary}`", "preview image tag"),
    ("ARGOCD_ENV_PREVIEW_TTL", "1d; touch {canary}", "preview TTL"),
    ("ARGOCD_ENV_ENVIRONMENT", "staging; touch {canary}", "environment override"),
    ("ARGOCD_APP_PARAMETERS", "[$(touch {canary})]", "ARGOCD_APP_PARAMETERS is not JSON"),
    ("ARGOCD_APP_PARAMETERS", '{{"name": "x"}}', "must be a JSON list"),
    ("BASE_DOMAIN", "$(touch {canary})", "BASE_DOMAIN"),
    ("BASE_DOMAIN", "evil.example.com/../../x", "BASE_DOMAIN"),
    ("ARGOCD_ENV_BASE_DOMAIN", "a b.example.com", "BASE_DOMAIN"),
    ("AWS_ACCOUNT_ID", "123; touch {canary}", "AWS_ACCOUNT_ID"),
    ("AWS_ACCOUNT_ID", "arn:aws:iam::1:role/x", "AWS_ACCOUNT_ID"),
]


@pytest.mark.parametrize(("variable", "template", "fragment"), PLUGIN_SETTINGS)
def test_hostile_plugin_settings_are_refused_naming_the_setting(
    repo: Path, tmp_path: Path, variable: str, template: str, fragment: str
) -> None:
    bump("hostile_inputs")
    canary = tmp_path / "INJECTED"
    storage = {"enabled": True, "buckets": [{"name": "uploads"}]}
    (repo / "application.yaml").write_text(_spec(storage=storage))
    env = argocd_env(repo, **{variable: template.format(canary=canary)})
    if variable.startswith("ARGOCD_ENV_PREVIEW") and variable != "ARGOCD_ENV_PREVIEW_PR":
        env["ARGOCD_ENV_PREVIEW_PR"] = "7"
    _assert_refused(run_plugin(repo, env), fragment)
    assert not canary.exists()


# --- reading outside the app directory ----------------------------------------------------

KUSTOMIZATIONS = [
    "resources: [../../../../outside/secret.yaml]\n",
    "resources: ['{outside}/secret.yaml']\n",
    "components: [../../../../outside]\n",
    "patchesStrategicMerge: ['{outside}/secret.yaml']\n",
    "crds: [../../../../outside/secret.yaml]\n",
    "patches:\n- path: ../../../../outside/secret.yaml\n",
    "patches:\n- path: '{outside}/secret.yaml'\n",
    "configMapGenerator:\n- name: leak\n  files: ['{outside}/secret.txt']\n",
    "configMapGenerator:\n- name: leak\n  files: [../../../../outside/secret.txt]\n",
    "configMapGenerator:\n- name: leak\n  envs: ['{outside}/secret.txt']\n",
    "secretGenerator:\n- name: leak\n  files: ['{outside}/secret.txt']\n",
    "generators: ['{outside}/secret.yaml']\n",
    "transformers: ['{outside}/secret.yaml']\n",
    "openapi:\n  path: '{outside}/secret.yaml'\n",
    "replacements:\n- path: '{outside}/secret.yaml'\n",
    "configurations: ['{outside}/secret.yaml']\n",
    "resources: [nested]\n",
    "helmCharts:\n- name: x\n  repo: file://{outside}\n",
    "resources: ['file://{outside}/secret.yaml']\n",
]


@pytest.mark.parametrize("body", KUSTOMIZATIONS)
def test_kustomizations_never_read_outside_the_app_directory(
    repo: Path, tmp_path: Path, body: str
) -> None:
    bump("hostile_inputs")
    outside = tmp_path / "outside"
    (repo / "application.yaml").write_text(_spec())
    (repo / "kustomization.yaml").write_text(body.format(outside=outside))
    nested = repo / "nested"
    nested.mkdir()
    (nested / "kustomization.yaml").write_text(f"resources: ['{outside}/secret.yaml']\n")
    result = run_plugin(repo, argocd_env(repo))
    assert SECRET not in result.stdout
    assert SECRET not in result.stderr
    _assert_refused(result)


@pytest.mark.parametrize(
    "link",
    [
        ("application.yaml", "outside/secret.yaml"),
        ("extra.yaml", "outside/secret.yaml"),
        ("kustomization.yaml", "outside/secret.yaml"),
        ("data", "outside"),
        ("etc-passwd.yaml", "/etc/passwd"),
    ],
    ids=lambda link: link[0],
)
def test_symlinks_out_of_the_app_directory_are_never_followed(
    repo: Path, tmp_path: Path, link: tuple[str, str]
) -> None:
    bump("hostile_inputs")
    name, target = link
    if name != "application.yaml":
        (repo / "application.yaml").write_text(_spec())
    os.symlink(target if target.startswith("/") else tmp_path / target, repo / name)
    if name != "kustomization.yaml":
        (repo / "kustomization.yaml").write_text("resources: []\n")
    result = run_plugin(repo, argocd_env(repo))
    assert SECRET not in result.stdout
    assert SECRET not in result.stderr
    assert "root:" not in result.stdout + result.stderr
    if name == "kustomization.yaml":  # a linked kustomization is not one: the plain render
        assert result.returncode == 0, result.stderr
        assert "stolen" not in result.stdout
    else:
        _assert_refused(result, "symlink")


def test_a_working_directory_reached_through_dot_dot_reads_only_itself(
    repo: Path, tmp_path: Path
) -> None:
    """Argo CD's source path may say `apps/../..`: the plugin reads only its cwd."""
    bump("hostile_inputs")
    (repo / "application.yaml").write_text(_spec())
    env = argocd_env(repo, ARGOCD_APP_SOURCE_PATH="apps/staging/hostile/../../../../outside")
    result = run_plugin(repo, env)
    assert result.returncode == 0, result.stderr
    assert SECRET not in result.stdout
    assert "Application" in [d["kind"] for d in yaml.safe_load_all(result.stdout)]


# --- oversized, nested, aliased, tagged YAML --------------------------------------------------

BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}, *{chr(97 + i)}]\n"
    for i in range(9)
)
NOT_A_SPEC = "no Application found"  # parsed as plain data: tags are never constructed
HOSTILE_YAML = {
    "oversized": ("x: " + "a" * (MAX_DOCUMENT_BYTES + 10) + "\n", "larger than"),
    "oversized-many-docs": ("---\nx: 1\n" * (MAX_DOCUMENT_BYTES // 8), "larger than"),
    "deep-flow": ("[" * 5000 + "]" * 5000 + "\n", ""),
    "deep-block": (
        "".join("  " * i + "a:\n" for i in range(MAX_DEPTH + 20)) + "  " * 90 + "b\n",
        "",
    ),
    "alias-bomb": (BOMB, ""),
    "python-tag": ("!!python/object/apply:os.system ['touch {canary}']\n", NOT_A_SPEC),
    "python-name": ("kind: !!python/name:os.system\n", NOT_A_SPEC),
    "duplicate-keys": (APP_SPEC.format(name="hostile") + "metadata: {name: other}\n", ""),
    "merge-keys": (
        "b: &b {x: 1}\n" + "".join(f"k{i}: {{<<: *b}}\n" for i in range(50)),
        NOT_A_SPEC,
    ),
    "invalid-utf8": (b"kind: Application\nname: \xff\xfe\n", ""),
    "mapping-as-key": ("? {a: 1}\n: x\n", "not valid YAML"),  # found by atheris
    "sequence-as-key": ("spec: {? [framework]: python}\n", "not valid YAML"),
    "nul-byte": ("kind: Application\x00\n", ""),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_YAML))
def test_hostile_yaml_is_refused_cleanly(repo: Path, tmp_path: Path, case: str) -> None:
    bump("hostile_inputs")
    canary = tmp_path / "INJECTED"
    body, fragment = HOSTILE_YAML[case]
    spec = repo / "application.yaml"
    if isinstance(body, bytes):
        spec.write_bytes(body)
    else:
        spec.write_text(body.replace("{canary}", str(canary)), encoding="utf-8")
    result = run_plugin(repo, argocd_env(repo))
    _assert_refused(result, fragment or "application.yaml")
    assert not canary.exists()
    assert len(result.stderr) < 20_000, "the error echoes the hostile input"


def test_the_alias_bomb_is_refused_by_the_parser_itself() -> None:
    with bounded("alias bomb"), pytest.raises(YamlError):
        load_all(BOMB, "bomb.yaml")
