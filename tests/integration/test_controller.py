"""The controller on the real stack (API server + kwok nodes, PostgreSQL, moto, Keycloak):
an app provisioned end to end with working Secrets, zero writes when nothing changed,
drift corrected, deletion by policy, previews swept when their TTL runs out."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
from psycopg import sql

from controller.kinds import APPLICATION, CONFIG_MAP, NAMESPACE, PREVIEW, SECRET
from controller.machinery.objects import ObjectKey
from controller.sweep import TtlSweeper
from devstack import Keycloak, Moto, Postgres, wait_until
from plattr import secret_keys
from plattr.naming import Target
from renderer.options import PreviewParams
from tests.support.controller_harness import (
    BASE_DOMAIN,
    Harness,
    Writes,
    record_figure,
    rendered,
    spec,
    timed,
)

pytestmark = [pytest.mark.stack, pytest.mark.slow]


def new_app(harness: Harness, environment: str = "staging", **overrides: Any) -> Target:
    target = Target(f"shop-{uuid.uuid4().hex[:6]}", environment)
    harness.apply(rendered(spec(environment, **overrides), target.app))
    return target


@pytest.fixture(scope="module")
def shop(harness: Harness) -> Target:
    """One app with database, storage and auth, Running; the tests below keep it so."""
    target = Target(f"shop-{uuid.uuid4().hex[:6]}", "staging")
    seconds = timed(
        lambda: (
            harness.apply(rendered(spec(), target.app)),
            harness.wait_phase(APPLICATION, target.namespace, target.app, "Running"),
        )
    )
    record_figure("seconds_create_to_running", round(seconds, 2))
    harness.settle()
    return target


def login(harness: Harness, target: Target) -> psycopg.Connection[tuple[object, ...]]:
    db = harness.secret(target.namespace, target.secret_name("db"))
    assert db is not None
    return psycopg.connect(db[secret_keys.DATABASE_URL], autocommit=True, connect_timeout=5)


def bucket(harness: Harness, target: Target) -> str:
    config = harness.get(CONFIG_MAP, target.namespace, target.config_map_name("storage"))
    assert config is not None
    name: str = config["data"][secret_keys.bucket_key("uploads")]
    return name


def test_an_app_with_everything_runs_and_its_secrets_work(
    harness: Harness, moto: Moto, shop: Target
) -> None:
    status = harness.status(APPLICATION, shop.namespace, shop.app)
    assert {c["type"]: c["status"] for c in status["conditions"]} == {
        "DatabaseReady": "True",
        "StorageReady": "True",
        "AuthReady": "True",
        "DeploymentReady": "True",
    }
    assert all(c["observedGeneration"] == 1 for c in status["conditions"])
    assert status["url"] == f"https://{shop.host(BASE_DOMAIN)}"
    assert status["secrets"] == sorted([shop.secret_name("auth"), shop.secret_name("db")])
    app = harness.get(APPLICATION, shop.namespace, shop.app)
    assert app is not None
    assert "platform.internal/finalizer" in app["metadata"]["finalizers"]

    with login(harness, shop) as conn:
        conn.execute("CREATE TABLE orders (id int)")
        conn.execute("INSERT INTO orders VALUES (1)")
        assert conn.execute("SELECT current_schema()").fetchone() == (shop.schema,)

    s3 = moto.client("s3")
    s3.put_object(Bucket=bucket(harness, shop), Key="hello.txt", Body=b"hello")
    s3.delete_object(Bucket=bucket(harness, shop), Key="hello.txt")

    auth = harness.secret(shop.namespace, shop.secret_name("auth"))
    assert auth is not None
    discovery = httpx.get(
        f"{auth[secret_keys.OIDC_ISSUER_URL]}/.well-known/openid-configuration", timeout=10
    )
    assert discovery.status_code == 200
    assert discovery.json()["issuer"] == auth[secret_keys.OIDC_ISSUER_URL]
    assert auth[secret_keys.OIDC_CLIENT_ID] == shop.client_id

    events = harness.kube.list(
        f"/api/v1/namespaces/{shop.namespace}/events",
        {"fieldSelector": f"involvedObject.name={shop.app}"},
    )
    reasons = {event["reason"] for event in events["items"]}
    assert {"PhasePending", "PhaseRunning"} <= reasons


def test_a_second_reconcile_and_a_resync_write_nothing(harness: Harness, shop: Target) -> None:
    before, reconciles = harness.writes(), harness.reconciles(shop.app)
    key = ObjectKey(APPLICATION.name, shop.namespace, shop.app)
    assert harness.controller.reconciler.reconcile(key, final_attempt=False)
    harness.resync()
    assert harness.reconciles(shop.app) == reconciles + 1
    delta = harness.writes() - before
    record_figure("noop_resync_writes", delta._asdict())
    record_figure("noop_resync_reconciles_of_app", harness.reconciles(shop.app) - reconciles)
    assert delta == Writes(0, 0, 0, 0)


def test_a_dropped_role_comes_back_and_the_secret_still_logs_in(
    harness: Harness, postgres: Postgres, shop: Target
) -> None:
    role = sql.Identifier(shop.login_role)
    with psycopg.connect(postgres.admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("REASSIGN OWNED BY {} TO CURRENT_USER").format(role))
        admin.execute(sql.SQL("DROP OWNED BY {}").format(role))
        admin.execute(sql.SQL("DROP ROLE {}").format(role))
    harness.resync()
    with login(harness, shop) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS orders (id int)")
    assert harness.status(APPLICATION, shop.namespace, shop.app)["phase"] == "Running"


def test_a_deleted_bucket_comes_back(harness: Harness, moto: Moto, shop: Target) -> None:
    s3 = moto.client("s3")
    s3.delete_bucket(Bucket=bucket(harness, shop))
    harness.resync()
    s3.head_bucket(Bucket=bucket(harness, shop))
    block = s3.get_public_access_block(Bucket=bucket(harness, shop))
    assert block["PublicAccessBlockConfiguration"]["BlockPublicAcls"] is True


def test_a_deleted_realm_comes_back_with_a_fresh_client_secret(
    harness: Harness, keycloak: Keycloak, shop: Target
) -> None:
    before = harness.secret(shop.namespace, shop.secret_name("auth"))
    keycloak.admin().delete_realm(shop.realm)
    harness.resync()
    after = harness.secret(shop.namespace, shop.secret_name("auth"))
    assert before is not None
    assert after is not None
    discovery = httpx.get(
        f"{after[secret_keys.OIDC_ISSUER_URL]}/.well-known/openid-configuration", timeout=10
    )
    assert discovery.status_code == 200
    assert after[secret_keys.OIDC_CLIENT_SECRET] != before[secret_keys.OIDC_CLIENT_SECRET]


def test_a_deleted_db_secret_comes_back_with_a_new_password(harness: Harness, shop: Target) -> None:
    name = shop.secret_name("db")
    old = harness.secret(shop.namespace, name)
    assert old is not None
    harness.delete(SECRET, shop.namespace, name)  # the watch sees it: no resync needed
    wait_until(lambda: harness.secret(shop.namespace, name) is not None, "db Secret recreated", 60)
    harness.settle()
    new = harness.secret(shop.namespace, name)
    assert new is not None
    assert new[secret_keys.PGPASSWORD] != old[secret_keys.PGPASSWORD]
    with login(harness, shop) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(old[secret_keys.DATABASE_URL], connect_timeout=5).close()


def schema_exists(postgres: Postgres, schema: str) -> bool:
    with psycopg.connect(postgres.admin_url, autocommit=True) as admin:
        found = admin.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
    return found is not None


def realm_exists(keycloak: Keycloak, realm: str) -> bool:
    return (
        httpx.get(
            f"{keycloak.url}/realms/{realm}/.well-known/openid-configuration", timeout=10
        ).status_code
        == 200
    )


def bucket_exists(moto: Moto, name: str) -> bool:
    return any(b["Name"] == name for b in moto.client("s3").list_buckets()["Buckets"])


def test_deleting_with_policy_delete_removes_everything(
    harness: Harness, postgres: Postgres, moto: Moto, keycloak: Keycloak
) -> None:
    target = new_app(harness)
    harness.wait_phase(APPLICATION, target.namespace, target.app, "Running")
    name = bucket(harness, target)
    harness.delete(APPLICATION, target.namespace, target.app)
    harness.wait_gone(APPLICATION, target.namespace, target.app)
    assert not schema_exists(postgres, target.schema)
    assert not bucket_exists(moto, name)
    assert not realm_exists(keycloak, target.realm)
    assert harness.secret(target.namespace, target.secret_name("db")) is None
    assert harness.get(CONFIG_MAP, target.namespace, target.config_map_name("storage")) is None


def test_deleting_in_production_retains_the_data(
    harness: Harness, postgres: Postgres, moto: Moto, keycloak: Keycloak
) -> None:
    target = new_app(harness, "production")
    harness.wait_phase(APPLICATION, target.namespace, target.app, "Running")
    name = bucket(harness, target)
    harness.delete(APPLICATION, target.namespace, target.app)
    harness.wait_gone(APPLICATION, target.namespace, target.app)
    assert schema_exists(postgres, target.schema)
    assert bucket_exists(moto, name)
    assert realm_exists(keycloak, target.realm)
    assert harness.secret(target.namespace, target.secret_name("db")) is not None


def test_a_non_empty_bucket_blocks_deletion_until_emptied(harness: Harness, moto: Moto) -> None:
    target = new_app(harness, auth={"enabled": False}, database={"enabled": False})
    harness.wait_phase(APPLICATION, target.namespace, target.app, "Running")
    name = bucket(harness, target)
    s3 = moto.client("s3")
    s3.put_object(Bucket=name, Key="keep.txt", Body=b"data")
    harness.delete(APPLICATION, target.namespace, target.app)
    wait_until(
        lambda: (
            name in (harness.status(APPLICATION, target.namespace, target.app).get("message") or "")
        ),
        "deletion blocked on the bucket",
        60,
    )
    assert harness.get(APPLICATION, target.namespace, target.app) is not None
    s3.delete_object(Bucket=name, Key="keep.txt")
    harness.resync()
    harness.wait_gone(APPLICATION, target.namespace, target.app)
    assert not bucket_exists(moto, name)


def test_an_expired_preview_is_swept_with_everything_it_had(
    harness: Harness, postgres: Postgres, moto: Moto, keycloak: Keycloak
) -> None:
    app = f"shop-{uuid.uuid4().hex[:6]}"
    target = Target.preview(app, 7)
    manifests = rendered(spec(), app, PreviewParams(7, image_tag="pr-7", ttl="1m"))
    namespace = next(m for m in manifests if m["kind"] == "Namespace")
    harness.ensure_namespace(namespace["metadata"]["name"], namespace["metadata"]["labels"])
    harness.apply(manifests, kinds=("PreviewEnvironment", "ServiceAccount", "Deployment"))
    status = harness.wait_phase(PREVIEW, target.namespace, target.instance, "Running")
    created = harness.get(PREVIEW, target.namespace, target.instance)
    assert created is not None
    expected = datetime.fromisoformat(
        created["metadata"]["creationTimestamp"].replace("Z", "+00:00")
    ) + timedelta(minutes=1)
    assert status["expiresAt"] == expected.strftime("%Y-%m-%dT%H:%M:%SZ")
    name = bucket(harness, target)
    moto.client("s3").put_object(Bucket=name, Key="upload.bin", Body=b"x")

    later = TtlSweeper(
        harness.controller.cache,
        harness.controller.cluster,
        harness.metrics,
        now=lambda: datetime.now(UTC) + timedelta(minutes=2),
    )
    assert [key.name for key in later.sweep()] == [target.instance]

    harness.wait_gone(PREVIEW, target.namespace, target.instance)
    wait_until(
        lambda: harness.kube.get(f"{NAMESPACE.collection()}/{target.namespace}") is None,
        "preview namespace gone",
        120,
    )
    assert not schema_exists(postgres, target.schema)
    assert not bucket_exists(moto, name)  # emptied, then deleted
    assert not realm_exists(keycloak, target.realm)


def test_the_sweep_leaves_a_namespace_that_is_not_a_preview(harness: Harness) -> None:
    app = f"impostor-{uuid.uuid4().hex[:6]}"
    target = Target.preview(app, 1)
    harness.ensure_namespace(target.namespace)  # preview-like name, no preview label
    body = {
        "apiVersion": "platform.internal/v1alpha1",
        "kind": "PreviewEnvironment",
        "metadata": {"name": target.instance, "namespace": target.namespace},
        "spec": {
            "application": app,
            "pullRequest": 1,
            "imageRef": "registry.example.test/x:1",
            "ttl": "1m",
        },
    }
    harness.kube.create(PREVIEW.collection(target.namespace), body)
    harness.wait_phase(PREVIEW, target.namespace, target.instance, "Provisioning")
    later = TtlSweeper(
        harness.controller.cache,
        harness.controller.cluster,
        harness.metrics,
        now=lambda: datetime.now(UTC) + timedelta(minutes=2),
    )
    later.sweep()
    wait_until(
        lambda: (
            "not a preview namespace"
            in (harness.status(PREVIEW, target.namespace, target.instance).get("message") or "")
        ),
        "teardown refused",
        60,
    )
    namespace = harness.kube.get(f"{NAMESPACE.collection()}/{target.namespace}")
    assert namespace is not None
    assert not namespace["metadata"].get("deletionTimestamp")
    # Gone by hand, as a person would clear it: the controller keeps refusing the teardown,
    # and later modules' controllers would find it Failed.
    item = PREVIEW.item(target.namespace, target.instance)
    harness.kube.delete(item)
    harness.kube.merge_patch(item, {"metadata": {"finalizers": None}})
    harness.kube.delete(f"{NAMESPACE.collection()}/{target.namespace}")
