"""The database provisioner against a real PostgreSQL 15 (tools/devstack): what an app's
roles can and cannot do, idempotency counted in statements, drift, drop, failures."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import psycopg.conninfo
import pytest
from psycopg import errors, sql
from psycopg.conninfo import conninfo_to_dict

from controller.provisioners.database import PostgresProvisioner
from controller.provisioners.db_admin import (
    admin_conninfo,
    conninfo_from_rds_secret,
    conninfo_from_url,
)
from controller.provisioners.interfaces import ProvisionerError
from devstack import Moto, Postgres
from plattr.naming import Target

pytestmark = pytest.mark.stack

PASSWORD = "app-password-" + uuid.uuid4().hex


@pytest.fixture
def provisioner(postgres: Postgres) -> PostgresProvisioner:
    return PostgresProvisioner(
        admin_conninfo(admin_url=postgres.admin_url, secret_arn=None, host=None)
    )


def _new_target() -> Target:
    return Target(f"app-{uuid.uuid4().hex[:8]}", "staging")


@pytest.fixture
def target(provisioner: PostgresProvisioner) -> Iterator[Target]:
    made = _new_target()
    provisioner.ensure(made, PASSWORD, reset_password=False)
    yield made
    provisioner.drop(made)


@pytest.fixture
def other(provisioner: PostgresProvisioner) -> Iterator[Target]:
    made = _new_target()
    provisioner.ensure(made, PASSWORD, reset_password=False)
    with _connect(provisioner, made) as conn:
        conn.execute("CREATE TABLE secrets (value text)")
        conn.execute("INSERT INTO secrets VALUES ('theirs')")
    yield made
    provisioner.drop(made)


def _connect(
    provisioner: PostgresProvisioner, target: Target, password: str = PASSWORD
) -> psycopg.Connection[tuple[object, ...]]:
    host, port, dbname = provisioner.endpoint()
    return psycopg.connect(
        host=host,
        port=port,
        dbname=dbname,
        user=target.login_role,
        password=password,
        autocommit=True,
        connect_timeout=5,
    )


def _admin(postgres: Postgres) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(postgres.admin_url, autocommit=True)


def test_login_role_works_in_its_own_schema(
    provisioner: PostgresProvisioner, target: Target
) -> None:
    with _connect(provisioner, target) as conn:
        assert conn.execute("SHOW search_path").fetchone() == (target.schema,)
        conn.execute("CREATE TABLE notes (id int PRIMARY KEY, body text)")
        conn.execute("INSERT INTO notes VALUES (1, 'hello')")
        assert conn.execute("SELECT body FROM notes").fetchall() == [("hello",)]
        where = conn.execute("SELECT schemaname FROM pg_tables WHERE tablename = 'notes'")
        assert where.fetchall() == [(target.schema,)]


def test_login_role_cannot_reach_another_apps_schema(
    provisioner: PostgresProvisioner, target: Target, other: Target
) -> None:
    theirs = sql.Identifier(other.schema, "secrets")
    with _connect(provisioner, target) as conn:
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute(sql.SQL("SELECT * FROM {}").format(theirs))
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute(sql.SQL("INSERT INTO {} VALUES ('mine')").format(theirs))
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute(
                sql.SQL("CREATE TABLE {} (x int)").format(sql.Identifier(other.schema, "planted"))
            )


def test_login_role_cannot_create_in_public(
    provisioner: PostgresProvisioner, target: Target
) -> None:
    with _connect(provisioner, target) as conn, pytest.raises(errors.InsufficientPrivilege):
        conn.execute("CREATE TABLE public.planted (x int)")


@pytest.mark.parametrize("role", ["login_role", "anon_role"])
def test_login_role_cannot_become_another_apps_role(
    provisioner: PostgresProvisioner, target: Target, other: Target, role: str
) -> None:
    with _connect(provisioner, target) as conn, pytest.raises(errors.InsufficientPrivilege):
        conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(getattr(other, role))))


def test_anon_role_has_usage_on_its_schema_only(
    provisioner: PostgresProvisioner, target: Target, other: Target
) -> None:
    with _connect(provisioner, target) as conn:
        conn.execute("CREATE TABLE items (name text)")
        conn.execute("INSERT INTO items VALUES ('public-ish')")
        conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(target.anon_role)))
        with pytest.raises(errors.InsufficientPrivilege):  # no table granted to it yet
            conn.execute("SELECT * FROM items")
        with pytest.raises(errors.InsufficientPrivilege):  # USAGE, not CREATE
            conn.execute("CREATE TABLE planted (x int)")
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute(
                sql.SQL("SELECT * FROM {}").format(sql.Identifier(other.schema, "secrets"))
            )
        conn.execute("RESET ROLE")
        # what an app does for PostgREST: the schema's USAGE is already there
        conn.execute(
            sql.SQL("GRANT SELECT ON items TO {}").format(sql.Identifier(target.anon_role))
        )
        conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(target.anon_role)))
        assert conn.execute("SELECT name FROM items").fetchall() == [("public-ish",)]


def test_anon_role_cannot_log_in(provisioner: PostgresProvisioner, target: Target) -> None:
    anon = Target(target.app, target.env)
    host, port, dbname = provisioner.endpoint()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(
            host=host,
            port=port,
            dbname=dbname,
            user=anon.anon_role,
            password=PASSWORD,
            connect_timeout=5,
        )


def test_second_ensure_makes_no_ddl(provisioner: PostgresProvisioner) -> None:
    fresh = _new_target()
    try:
        before = provisioner.calls.snapshot()
        assert provisioner.ensure(fresh, PASSWORD, reset_password=False) is True
        first = provisioner.calls.snapshot() - before
        assert provisioner.ensure(fresh, PASSWORD, reset_password=False) is False
        second = provisioner.calls.snapshot() - before - first
    finally:
        provisioner.drop(fresh)
    assert first.writes > 0
    assert second.writes == 0
    assert second.reads == 1  # the one catalog query


def test_concurrent_ensures_of_one_target_are_serialised(
    provisioner: PostgresProvisioner,
) -> None:
    """Without the advisory lock and the second read, racing controllers would both try
    CREATE ROLE and one would fail."""
    fresh = _new_target()
    start = threading.Barrier(4)

    def ensure() -> bool:
        start.wait()
        return provisioner.ensure(fresh, PASSWORD, reset_password=False)

    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            results = [future.result() for future in [pool.submit(ensure) for _ in range(4)]]
    finally:
        provisioner.drop(fresh)
    assert sorted(results) == [False, False, False, True]


def test_dropped_login_role_is_recreated(
    provisioner: PostgresProvisioner, postgres: Postgres, target: Target
) -> None:
    role = sql.Identifier(target.login_role)
    with _admin(postgres) as conn:
        conn.execute(sql.SQL("REASSIGN OWNED BY {} TO CURRENT_USER").format(role))
        conn.execute(sql.SQL("DROP OWNED BY {}").format(role))
        conn.execute(sql.SQL("DROP ROLE {}").format(role))

    assert provisioner.ensure(target, PASSWORD, reset_password=False) is True

    with _connect(provisioner, target) as conn:
        conn.execute("CREATE TABLE again (x int)")  # owns its schema again
        conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(target.anon_role)))
    before = provisioner.calls.snapshot()
    assert provisioner.ensure(target, PASSWORD, reset_password=False) is False
    assert (provisioner.calls.snapshot() - before).writes == 0


def test_dropped_anon_role_is_recreated(
    provisioner: PostgresProvisioner, postgres: Postgres, target: Target
) -> None:
    role = sql.Identifier(target.anon_role)
    with _admin(postgres) as conn:
        conn.execute(sql.SQL("DROP OWNED BY {}").format(role))
        conn.execute(sql.SQL("DROP ROLE {}").format(role))

    assert provisioner.ensure(target, PASSWORD, reset_password=False) is True

    with _connect(provisioner, target) as conn:
        conn.execute(sql.SQL("SET ROLE {}").format(role))
        conn.execute("SELECT count(*) FROM pg_class")


def test_privileges_granted_by_hand_are_revoked(
    provisioner: PostgresProvisioner, postgres: Postgres, target: Target, other: Target
) -> None:
    with _admin(postgres) as conn:
        conn.execute(
            sql.SQL("GRANT USAGE, CREATE ON SCHEMA {} TO PUBLIC").format(
                sql.Identifier(other.schema)
            )
        )
        conn.execute(
            sql.SQL("GRANT CREATE ON SCHEMA {} TO {}").format(
                sql.Identifier(other.schema), sql.Identifier(other.anon_role)
            )
        )
        conn.execute("GRANT CREATE ON SCHEMA public TO PUBLIC")

    assert provisioner.ensure(other, PASSWORD, reset_password=False) is True

    with _connect(provisioner, target) as conn:
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute(
                sql.SQL("CREATE TABLE {} (x int)").format(sql.Identifier(other.schema, "planted"))
            )
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("CREATE TABLE public.planted (x int)")


def test_reset_password_replaces_it(provisioner: PostgresProvisioner, target: Target) -> None:
    rotated = "rotated-" + uuid.uuid4().hex
    assert provisioner.ensure(target, rotated, reset_password=True) is True
    with _connect(provisioner, target, rotated) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (target.login_role,)
    with pytest.raises(psycopg.OperationalError):
        _connect(provisioner, target, PASSWORD)
    provisioner.ensure(target, PASSWORD, reset_password=True)


def test_password_never_reaches_the_server_in_clear(
    provisioner: PostgresProvisioner, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[str] = []
    execute = psycopg.Connection.execute

    def recording(self: psycopg.Connection[Any], query: Any, *args: Any, **kw: Any) -> Any:
        sent.append(query.as_string(self) if isinstance(query, sql.Composable) else str(query))
        return execute(self, query, *args, **kw)

    monkeypatch.setattr(psycopg.Connection, "execute", recording)
    fresh = _new_target()
    try:
        provisioner.ensure(fresh, PASSWORD, reset_password=False)
        provisioner.ensure(fresh, PASSWORD, reset_password=True)
    finally:
        provisioner.drop(fresh)
    passwords = [text for text in sent if "PASSWORD" in text]
    assert len(passwords) == 2
    assert all("SCRAM-SHA-256$" in text and PASSWORD not in text for text in passwords)


def test_drop_removes_schema_and_roles(
    provisioner: PostgresProvisioner, postgres: Postgres
) -> None:
    gone = _new_target()
    provisioner.ensure(gone, PASSWORD, reset_password=False)
    with _connect(provisioner, gone) as conn:
        conn.execute("CREATE TABLE data (x int)")

    assert provisioner.drop(gone) is True
    assert provisioner.drop(gone) is False

    with _admin(postgres) as conn:
        left = conn.execute(
            "SELECT (SELECT count(*) FROM pg_roles WHERE rolname IN (%s, %s)),"
            " (SELECT count(*) FROM pg_namespace WHERE nspname = %s)",
            (gone.login_role, gone.anon_role, gone.schema),
        ).fetchone()
    assert left == (0, 0)


def test_admin_credentials_from_the_rds_secret(
    postgres: Postgres, moto: Moto, db_admin_secret_arn: str
) -> None:
    conninfo = admin_conninfo(
        admin_url=None,
        secret_arn=db_admin_secret_arn,
        host=postgres.host,
        secretsmanager=moto.client("secretsmanager"),
    )
    provisioner = PostgresProvisioner(conninfo)
    assert provisioner.endpoint() == (postgres.host, postgres.port, postgres.database)
    fresh = _new_target()
    try:
        assert provisioner.ensure(fresh, PASSWORD, reset_password=False) is True
    finally:
        provisioner.drop(fresh)


def test_unreachable_database_is_reported_without_the_password(postgres: Postgres) -> None:
    admin_password = "admin-" + uuid.uuid4().hex
    provisioner = PostgresProvisioner(
        f"host=127.0.0.1 port=1 dbname=plattr user=plattr_admin password={admin_password}",
        connect_timeout=2,
    )
    with pytest.raises(ProvisionerError) as caught:
        provisioner.ensure(_new_target(), PASSWORD, reset_password=False)
    assert caught.value.reason == "DatabaseUnreachable"
    assert "127.0.0.1:1" in str(caught.value)
    assert admin_password not in str(caught.value)
    assert PASSWORD not in str(caught.value)


def test_wrong_admin_password_is_reported_without_it(postgres: Postgres) -> None:
    wrong = "wrong-" + uuid.uuid4().hex
    provisioner = PostgresProvisioner(
        f"host={postgres.host} port={postgres.port} dbname={postgres.database} "
        f"user={postgres.admin_user} password={wrong}"
    )
    with pytest.raises(ProvisionerError) as caught:
        provisioner.drop(_new_target())
    assert caught.value.reason == "DatabaseUnreachable"
    assert "password authentication failed" in str(caught.value)
    assert wrong not in str(caught.value)


@pytest.mark.parametrize(
    ("secret", "expected"),
    [
        ("not json", "not a JSON object"),
        ('{"username": "admin", "host": "db"}', "lacks password"),
        ('{"username": "admin", "password": "pw"}', "lacks host"),
    ],
)
def test_bad_rds_secret_names_what_to_fix(secret: str, expected: str) -> None:
    with pytest.raises(ProvisionerError, match=expected) as caught:
        conninfo_from_rds_secret(secret)
    assert caught.value.reason == "DatabaseError"


def test_db_host_overrides_the_secrets_host() -> None:
    secret = '{"username": "admin", "password": "pw", "host": "old", "port": 6432}'
    params = conninfo_to_dict(conninfo_from_rds_secret(secret, host="aurora.example"))
    assert (params["host"], params["port"], params["dbname"]) == (
        "aurora.example",
        "6432",
        "postgres",
    )


def test_bad_admin_url_is_reported_without_its_password() -> None:
    secret = "pw-" + uuid.uuid4().hex
    with pytest.raises(ProvisionerError) as caught:
        conninfo_from_url(f"postgresql://admin:{secret}@db:notaport/plattr?bogus=1")
    assert "DB_ADMIN_URL" in str(caught.value)
    assert secret not in str(caught.value)


def test_no_admin_credentials_at_all() -> None:
    with pytest.raises(ProvisionerError, match="set DB_ADMIN_URL, or DB_SECRET_ARN and DB_HOST"):
        admin_conninfo(admin_url=None, secret_arn=None, host=None)


@pytest.mark.parametrize("frees_up", [True, False])
def test_a_server_out_of_connection_slots_is_asked_again_and_counted(
    postgres: Postgres, frees_up: bool
) -> None:
    """SQLSTATE 53300, here as a role's CONNECTION LIMIT reached: the provisioner waits and
    tries again (counted as throttled) and fails as unreachable only once its retries are
    spent."""
    role = f"busy_{uuid.uuid4().hex[:8]}"
    password = uuid.uuid4().hex
    with psycopg.connect(postgres.admin_url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("CREATE ROLE {} LOGIN CONNECTION LIMIT 1 PASSWORD {}").format(
                sql.Identifier(role), sql.Literal(password)
            )
        )
    conninfo = psycopg.conninfo.make_conninfo(postgres.admin_url, user=role, password=password)
    holder = psycopg.connect(conninfo)
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        if frees_up:
            holder.close()  # the slot frees up while the provisioner waits
        time.sleep(seconds)

    provisioner = PostgresProvisioner(conninfo, sleep=sleep)
    try:
        if frees_up:
            assert provisioner.drop(_new_target()) is False  # connected, read, nothing there
            assert provisioner.calls.throttled == len(waits) >= 1
        else:
            with pytest.raises(ProvisionerError) as caught:
                provisioner.drop(_new_target())
            assert caught.value.reason == "DatabaseUnreachable"
            assert "too many connections" in str(caught.value)
            assert waits == [0.5, 1.0, 2.0, 4.0]
            assert provisioner.calls.throttled == 4
    finally:
        holder.close()
        with psycopg.connect(postgres.admin_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
