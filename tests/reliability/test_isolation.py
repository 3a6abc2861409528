"""Isolation between tenants on the real services, beyond tests/integration/test_provision_*:
a preview's credentials against production's schema, bucket and realm; what an app's login
role can do to the server (roles, schemas, files, programs); what its `_anon` role (the
internet, through PostgREST) can do without a grant; bucket names that collide across apps;
anonymous S3 access; one app's OIDC client against another app's realm."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import psycopg
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError
from psycopg import errors, sql

from controller.provisioners.auth import AdminCredentials, KeycloakProvisioner
from controller.provisioners.database import PostgresProvisioner
from controller.provisioners.db_admin import admin_conninfo
from controller.provisioners.interfaces import ProvisionerError
from controller.provisioners.storage import ACCESS_POLICY_NAME, S3Provisioner, tags_of
from devstack import Keycloak, Moto, Postgres
from plattr.models import Bucket
from plattr.naming import Target
from tests.support.reliability_support import bump

pytestmark = [pytest.mark.stack, pytest.mark.slow]

PASSWORD = "isolation-" + uuid.uuid4().hex
ISSUER = "oidc.eks.us-east-1.amazonaws.com/id/PLATTRISOLATION"
Connection = psycopg.Connection[tuple[Any, ...]]


# --- PostgreSQL ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def database(postgres: Postgres) -> PostgresProvisioner:
    return PostgresProvisioner(
        admin_conninfo(admin_url=postgres.admin_url, secret_arn=None, host=None)
    )


@pytest.fixture(scope="module")
def production(database: PostgresProvisioner) -> Iterator[Target]:
    """An app in production with a table of customer data."""
    target = Target(f"iso-{uuid.uuid4().hex[:6]}", "production")
    database.ensure(target, PASSWORD, reset_password=False)
    with connect(database, target) as conn:
        conn.execute("CREATE TABLE customers (email text)")
        conn.execute("INSERT INTO customers VALUES ('ceo@example.com')")
    yield target
    database.drop(target)


@pytest.fixture(scope="module")
def preview(database: PostgresProvisioner, production: Target) -> Iterator[Target]:
    """The same app's preview of pull request 7: its own schema and roles."""
    target = Target.preview(production.app, 7)
    database.ensure(target, PASSWORD + "-preview", reset_password=False)
    yield target
    database.drop(target)


def connect(database: PostgresProvisioner, target: Target, password: str = PASSWORD) -> Connection:
    host, port, dbname = database.endpoint()
    if target.is_preview:
        password += "-preview"
    return psycopg.connect(
        host=host,
        port=port,
        dbname=dbname,
        user=target.login_role,
        password=password,
        autocommit=True,
        connect_timeout=5,
    )


def _refused(conn: Connection, statement: sql.Composable | str) -> None:
    bump("isolation_probes")
    with pytest.raises((errors.InsufficientPrivilege, errors.UndefinedTable)) as refused:
        conn.execute(statement)  # type: ignore[arg-type]
    assert refused.value.sqlstate in ("42501", "42P01"), refused.value


PREVIEW_AGAINST_PRODUCTION = [
    "SELECT * FROM {schema}.customers",
    "INSERT INTO {schema}.customers VALUES ('planted')",
    "UPDATE {schema}.customers SET email = 'x'",
    "DELETE FROM {schema}.customers",
    "DROP TABLE {schema}.customers",
    "ALTER TABLE {schema}.customers ADD COLUMN x int",
    "CREATE TABLE {schema}.planted (x int)",
    "GRANT SELECT ON {schema}.customers TO {login}",
    "SET ROLE {login}",
    "SET ROLE {anon}",
    "SET SESSION AUTHORIZATION {login}",
    "ALTER ROLE {login} PASSWORD 'taken'",
    "DROP SCHEMA {schema} CASCADE",
]


@pytest.mark.parametrize("statement", PREVIEW_AGAINST_PRODUCTION)
def test_a_preview_cannot_touch_productions_schema_or_roles(
    database: PostgresProvisioner, production: Target, preview: Target, statement: str
) -> None:
    query = sql.SQL(statement).format(
        schema=sql.Identifier(production.schema),
        login=sql.Identifier(production.login_role),
        anon=sql.Identifier(production.anon_role),
    )
    with connect(database, preview) as conn:
        _refused(conn, query)
        assert conn.execute("SELECT current_user").fetchone() == (preview.login_role,)
    with connect(database, production) as conn:  # and production's data is as it was
        assert conn.execute("SELECT email FROM customers").fetchall() == [("ceo@example.com",)]


SERVER_WIDE = [
    "CREATE ROLE planted LOGIN",
    "CREATE SCHEMA planted",
    "CREATE DATABASE planted",
    "CREATE TABLE public.planted (x int)",
    "CREATE EXTENSION IF NOT EXISTS dblink",
    "SELECT rolpassword FROM pg_authid",
    "SELECT pg_read_file('/etc/passwd')",
    "SELECT pg_ls_dir('.')",
    "COPY (SELECT 1) TO PROGRAM 'touch {canary}'",
    "COPY (SELECT 1) TO '{canary}'",
    "SELECT lo_import('/etc/passwd')",
    "ALTER SYSTEM SET log_statement = 'none'",
    "SET log_statement = 'none'",
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename <> current_user",
]


@pytest.mark.parametrize("statement", SERVER_WIDE)
def test_an_apps_login_role_cannot_reach_beyond_its_schema(
    database: PostgresProvisioner, preview: Target, tmp_path: Path, statement: str
) -> None:
    canary = tmp_path / "INJECTED"
    with connect(database, preview) as conn:
        bump("isolation_probes")
        try:
            rows = conn.execute(statement.replace("{canary}", str(canary))).fetchall()
        except (errors.InsufficientPrivilege, errors.FeatureNotSupported) as error:
            refused: psycopg.Error | None = error
        else:
            refused = None
    if refused is None:  # pg_terminate_backend of another role's backend answers false
        assert statement.startswith("SELECT pg_terminate_backend"), rows
        assert all(row == (False,) for row in rows), rows
    else:
        assert refused.sqlstate in ("42501", "0A000"), refused
    assert not canary.exists()


def test_anon_can_use_only_what_the_app_granted(
    database: PostgresProvisioner, production: Target
) -> None:
    """The `_anon` role is PostgREST's anonymous user: the internet. A table granted SELECT
    is readable, not writable; a function the app did not grant cannot be called."""
    anon = sql.Identifier(production.anon_role)
    with connect(database, production) as conn:
        conn.execute("CREATE TABLE menu (dish text)")
        conn.execute("INSERT INTO menu VALUES ('soup')")
        conn.execute(sql.SQL("GRANT SELECT ON menu TO {}").format(anon))
        conn.execute(
            "CREATE FUNCTION wipe() RETURNS void LANGUAGE sql SECURITY DEFINER "
            "AS 'DELETE FROM customers'"
        )
        conn.execute("CREATE FUNCTION hello() RETURNS text LANGUAGE sql AS $$SELECT 'hi'$$")
        conn.execute("CREATE SEQUENCE counter")
        conn.execute("CREATE VIEW everyone AS SELECT email FROM customers")
        conn.execute(sql.SQL("SET ROLE {}").format(anon))
        assert conn.execute("SELECT dish FROM menu").fetchall() == [("soup",)]
        for statement in (
            "INSERT INTO menu VALUES ('planted')",
            "UPDATE menu SET dish = 'x'",
            "DELETE FROM menu",
            "SELECT * FROM customers",
            "SELECT * FROM everyone",
            "SELECT nextval('counter')",
            "SELECT wipe()",
            "SELECT hello()",
            "CREATE TABLE planted (x int)",
        ):
            _refused(conn, statement)
        conn.execute("RESET ROLE")
        assert conn.execute("SELECT email FROM customers").fetchall() == [("ceo@example.com",)]
        conn.execute(sql.SQL("GRANT EXECUTE ON FUNCTION hello() TO {}").format(anon))
        conn.execute(sql.SQL("SET ROLE {}").format(anon))
        assert conn.execute("SELECT hello()").fetchall() == [("hi",)]  # granted: usable


# --- S3 and IAM ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def storage(moto: Moto) -> S3Provisioner:
    iam = moto.client("iam")
    known = [p["Arn"] for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]]
    arn = (
        next((a for a in known if a.endswith(ISSUER)), None)
        or iam.create_open_id_connect_provider(
            Url=f"https://{ISSUER}", ClientIDList=["sts.amazonaws.com"], ThumbprintList=["0" * 40]
        )["OpenIDConnectProviderArn"]
    )
    return S3Provisioner(moto.client("s3"), iam, oidc_provider_arn=arn, prefix="plattr-iso")


def _anonymous(moto: Moto) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=moto.endpoint_url,
        region_name=moto.region,
        config=Config(signature_version=UNSIGNED),
    )


def test_a_bucket_owned_by_another_app_is_refused_not_shared(
    moto: Moto, storage: S3Provisioner
) -> None:
    """`a` in staging with bucket `x-uat-b` and `a-staging-x` in uat with bucket `b` once
    derived the same S3 name; naming now keeps them apart. Should a name still be taken by
    another app's bucket (made by hand, or by an older naming), the second app must be
    refused, and the owner's private bucket stay private, tagged as its own, and out of the
    second app's IAM role."""
    app = f"c{uuid.uuid4().hex[:5]}"
    first, second = Target(app, "staging"), Target(f"{app}-staging-x", "uat")
    assert storage.bucket_name(first, "x-uat-b") != storage.bucket_name(second, "b")
    name = storage.bucket_name(second, "b")
    s3 = moto.client("s3")
    s3.create_bucket(Bucket=name)
    s3.put_bucket_tagging(
        Bucket=name,
        Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags_of(first).items()]},
    )
    s3.put_public_access_block(
        Bucket=name,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_object(Bucket=name, Key="payroll.csv", Body=b"secret")
    try:
        with pytest.raises(ProvisionerError, match=name):
            storage.ensure(second, [Bucket(name="b", public=True)])
        tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=name)["TagSet"]}
        assert (tags["app"], tags["environment"]) == (first.app, first.env)
        with pytest.raises(ClientError):
            _anonymous(moto).get_object(Bucket=name, Key="payroll.csv")
        iam = moto.client("iam")
        try:
            policy = iam.get_role_policy(
                RoleName=second.iam_role_name, PolicyName=ACCESS_POLICY_NAME
            )["PolicyDocument"]
        except ClientError:
            policy = {"Statement": []}
        resources = {r for s in policy["Statement"] for r in s["Resource"]}
        assert f"arn:aws:s3:::{name}" not in resources
        assert storage.drop(second, ["b"], empty_first=True).deleted == []
        assert s3.get_object(Bucket=name, Key="payroll.csv")["Body"].read() == b"secret"
    finally:
        s3.delete_object(Bucket=name, Key="payroll.csv")
        s3.delete_bucket(Bucket=name)
        storage.drop(second, ["b"], empty_first=False)


def test_anonymous_clients_get_nothing_but_public_reads(moto: Moto, storage: S3Provisioner) -> None:
    production = Target(f"iso-{uuid.uuid4().hex[:6]}", "production")
    preview = Target.preview(production.app, 7)
    buckets = [Bucket(name="uploads"), Bucket(name="assets", public=True)]
    names, _ = storage.ensure(production, buckets)
    preview_names, _ = storage.ensure(preview, buckets)
    s3, anonymous = moto.client("s3"), _anonymous(moto)
    try:
        for bucket in [*names.values(), *preview_names.values()]:
            s3.put_object(Bucket=bucket, Key="file", Body=b"data")
        # moto enforces anonymous GetObject and DeleteObject only (it lets an unsigned
        # ListObjects or PutObject through whatever the bucket says), so only those are probed
        for bucket in (names["uploads"], preview_names["uploads"]):
            for call in (
                lambda b=bucket: anonymous.get_object(Bucket=b, Key="file"),
                lambda b=bucket: anonymous.delete_object(Bucket=b, Key="file"),
            ):
                bump("isolation_probes")
                with pytest.raises(ClientError) as refused:
                    call()
                assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
        public = names["assets"]
        assert anonymous.get_object(Bucket=public, Key="file")["Body"].read() == b"data"
        bump("isolation_probes")
        with pytest.raises(ClientError):
            anonymous.delete_object(Bucket=public, Key="file")
        assert s3.get_object(Bucket=public, Key="file")["Body"].read() == b"data"
        iam = moto.client("iam")
        policy = iam.get_role_policy(RoleName=preview.iam_role_name, PolicyName=ACCESS_POLICY_NAME)[
            "PolicyDocument"
        ]
        resources = {r for s in policy["Statement"] for r in s["Resource"]}
        assert not {f"arn:aws:s3:::{n}" for n in names.values()} & resources
        assert not {f"arn:aws:s3:::{n}/*" for n in names.values()} & resources
    finally:
        storage.drop(production, list(names), empty_first=True)
        storage.drop(preview, list(preview_names), empty_first=True)


# --- Keycloak --------------------------------------------------------------------------------


def test_one_apps_client_is_unknown_in_another_apps_realm(keycloak: Keycloak) -> None:
    auth = KeycloakProvisioner.from_settings(
        url=keycloak.url,
        credentials=AdminCredentials(keycloak.admin_user, keycloak.admin_password),
        identity_providers={},
    )
    production = Target(f"iso-{uuid.uuid4().hex[:6]}", "production")
    preview = Target.preview(production.app, 7)
    try:
        prod_credentials, _ = auth.ensure(production, [], ["https://prod.example.test/*"])
        preview_credentials, _ = auth.ensure(preview, [], ["https://pr.example.test/*"])
        for own, other in (
            (preview_credentials, prod_credentials),
            (prod_credentials, preview_credentials),
        ):
            bump("isolation_probes")
            token = httpx.post(
                f"{other.issuer_url}/protocol/openid-connect/token",
                data={"grant_type": "client_credentials"},
                auth=(own.client_id, own.client_secret),
                timeout=10,
            )
            assert token.status_code == 401, token.text
            assert own.client_secret not in token.text
    finally:
        auth.drop(production)
        auth.drop(preview)
