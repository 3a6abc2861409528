"""The stack's services answer real client calls: psycopg, boto3, python-keycloak."""

from __future__ import annotations

import json
import uuid

import psycopg
import pytest
from keycloak import KeycloakOpenID
from psycopg import sql

from devstack import Keycloak, Moto, Postgres

pytestmark = pytest.mark.stack

BLOCK_PUBLIC_ACCESS = (
    "BlockPublicAcls",
    "IgnorePublicAcls",
    "BlockPublicPolicy",
    "RestrictPublicBuckets",
)


def test_postgres_admin_can_create_a_schema_and_a_login_role(postgres: Postgres):
    with psycopg.connect(postgres.admin_url, autocommit=True) as admin:
        version = admin.execute("SHOW server_version_num").fetchone()
        assert version is not None
        assert int(str(version[0])) // 10000 == 15
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD 'pw'").format(sql.Identifier("shop")))
        # PostgreSQL 15 (like an RDS master user): CREATEROLE grants no membership by itself
        admin.execute(sql.SQL("GRANT shop TO {}").format(sql.Identifier(postgres.admin_user)))
        admin.execute(sql.SQL("CREATE SCHEMA shop AUTHORIZATION shop"))
    app_url = f"postgresql://shop:pw@{postgres.host}:{postgres.port}/{postgres.database}"
    with psycopg.connect(app_url) as app:
        app.execute("CREATE TABLE shop.orders (id int)")
        app.execute("INSERT INTO shop.orders VALUES (1)")
        assert app.execute("SELECT count(*) FROM shop.orders").fetchone() == (1,)


def test_s3_bucket_round_trip(moto: Moto):
    s3 = moto.client("s3")
    bucket = f"devstack-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration=dict.fromkeys(BLOCK_PUBLIC_ACCESS, True),
    )
    s3.put_object(Bucket=bucket, Key="hello.txt", Body=b"hello")
    assert s3.get_object(Bucket=bucket, Key="hello.txt")["Body"].read() == b"hello"
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert block["BlockPublicPolicy"] is True


def test_iam_role_can_be_created(moto: Moto):
    trust = {"Version": "2012-10-17", "Statement": []}
    role = moto.client("iam").create_role(
        RoleName="devstack-app", AssumeRolePolicyDocument=json.dumps(trust)
    )["Role"]
    assert role["Arn"].endswith(":role/devstack-app")


def test_db_admin_secret_has_the_rds_shape_and_opens_postgres(
    moto: Moto, postgres: Postgres, db_admin_secret_arn: str
):
    value = moto.client("secretsmanager").get_secret_value(SecretId="plattr/db-admin")
    assert value["ARN"] == db_admin_secret_arn
    secret = json.loads(value["SecretString"])
    assert set(secret) == {"username", "password", "host", "port", "dbname", "engine"}
    with psycopg.connect(
        host=secret["host"],
        port=secret["port"],
        user=secret["username"],
        password=secret["password"],
        dbname=secret["dbname"],
    ) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (postgres.admin_user,)


def test_keycloak_admin_creates_a_realm_that_serves_oidc(keycloak: Keycloak):
    admin = keycloak.admin()
    admin.create_realm({"realm": "devstack-check", "enabled": True}, skip_exists=True)
    admin.change_current_realm("devstack-check")
    admin.create_client(
        {
            "clientId": "web",
            "secret": "web-secret",
            "serviceAccountsEnabled": True,
            "publicClient": False,
        }
    )
    oidc = KeycloakOpenID(
        server_url=keycloak.url,
        realm_name="devstack-check",
        client_id="web",
        client_secret_key="web-secret",
    )
    assert oidc.well_known()["issuer"] == f"{keycloak.url}/realms/devstack-check"
    token = oidc.token(grant_type="client_credentials")
    assert token["access_token"]
    admin.change_current_realm("master")
    admin.delete_realm("devstack-check")
