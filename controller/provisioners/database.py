"""The database provisioner: a schema and two roles per app and environment, in PostgreSQL.

For a target it keeps, on the shared database:

- login role `<schema>` (LOGIN, no special attributes, `search_path` = its schema), owner
  of schema `<schema>`, so the app runs its own migrations there;
- role `<schema>_anon` (NOLOGIN) with USAGE on that schema only, granted to the login role
  so PostgREST can `SET ROLE` to it;
- nothing for PUBLIC on the schema, and no CREATE for PUBLIC on the database's `public`
  schema: another app's roles reach neither.

`ensure` reads the catalog in one query and plans DDL only for what is missing or wrong; a
no-op ensure runs that query and nothing else. DDL runs in one transaction that first takes
a transaction-level advisory lock (concurrent GRANTs on the shared catalogs otherwise fail
with "tuple concurrently updated") and then reads the catalog again. Passwords reach the
server only as SCRAM verifiers computed here, never in clear text, so no server log or
error holds one. Identifiers go through `psycopg.sql` only. A server out of connection slots
(SQLSTATE 53300, too_many_connections) is asked again after 0.5, 1, 2 and 4 s, each such
answer counted (`calls.throttled`), before the reconcile sees it as `DatabaseUnreachable`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row

from controller.machinery.backoff import RetrySchedule
from controller.provisioners.counting import CallCounter
from controller.provisioners.interfaces import DatabaseEndpoint, ProvisionerError
from controller.provisioners.redact import redact
from plattr.naming import Target

log = logging.getLogger(__name__)

DDL_LOCK_KEY: Final = 0x706C61747472  # "plattr": one lock for all of Plattr's DDL
CONNECT_TIMEOUT: Final = 5
STATEMENT_TIMEOUT_MS: Final = 30_000
APPLICATION_NAME: Final = "plattr-controller"
_ROLE_LIMITS: Final = "NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
TOO_MANY_CONNECTIONS: Final = "53300"
SLOTS_RETRIES: Final = RetrySchedule(base=0.5, factor=2.0, attempts=4)
_TOO_MANY_MESSAGES: Final = (  # libpq reports a refused login without its SQLSTATE
    "too many clients already",
    "too many connections for",
    "remaining connection slots are reserved",
)

# One query: everything ensure compares. NULL where an object is missing.
_STATE_QUERY: Final = sql.SQL("""
WITH login AS (
    SELECT oid, rolcanlogin AND NOT (rolsuper OR rolcreaterole OR rolcreatedb
                                     OR rolreplication OR rolbypassrls) AS ok
    FROM pg_roles WHERE rolname = %(login)s
), anon AS (
    SELECT oid, NOT (rolcanlogin OR rolsuper OR rolcreaterole OR rolcreatedb
                     OR rolreplication OR rolbypassrls) AS ok
    FROM pg_roles WHERE rolname = %(anon)s
), nsp AS (
    SELECT oid, nspowner, nspacl FROM pg_namespace WHERE nspname = %(schema)s
)
SELECT
    (SELECT ok FROM login) AS login_ok,
    (SELECT ok FROM anon) AS anon_ok,
    (SELECT nspowner = coalesce((SELECT oid FROM login), 0) FROM nsp) AS schema_owned,
    (SELECT count(*) FROM nsp, aclexplode(nsp.nspacl) a WHERE a.grantee = 0) AS public_grants,
    (SELECT array_agg(a.privilege_type::text ORDER BY a.privilege_type)
       FROM nsp, anon, aclexplode(nsp.nspacl) a WHERE a.grantee = anon.oid) AS anon_privileges,
    EXISTS (SELECT 1 FROM pg_auth_members m, login, anon
            WHERE m.roleid = anon.oid AND m.member = login.oid) AS anon_granted,
    (SELECT 'search_path=' || quote_ident(%(schema)s)
            = ANY(coalesce(s.setconfig, '{}'))
       FROM login LEFT JOIN pg_db_role_setting s
         ON s.setrole = login.oid AND s.setdatabase = 0) AS search_path_ok,
    (SELECT pg_has_role(current_user, login.oid, 'USAGE') FROM login) AS admin_has_login,
    (SELECT pg_has_role(current_user, anon.oid, 'USAGE') FROM anon) AS admin_has_anon,
    EXISTS (SELECT 1 FROM pg_namespace p, aclexplode(p.nspacl) a
            WHERE p.nspname = 'public' AND a.grantee = 0
              AND a.privilege_type = 'CREATE') AS public_create_open,
    (SELECT EXISTS (SELECT 1 FROM pg_default_acl d
                    WHERE d.defaclrole = login.oid AND d.defaclnamespace = 0
                      AND d.defaclobjtype = 'f')
        AND NOT EXISTS (SELECT 1 FROM pg_default_acl d, aclexplode(d.defaclacl) a
                        WHERE d.defaclrole = login.oid AND d.defaclnamespace = 0
                          AND d.defaclobjtype = 'f' AND a.grantee = 0)
       FROM login) AS functions_private
""")


@dataclass(frozen=True)
class _State:
    login_ok: bool | None
    anon_ok: bool | None
    schema_owned: bool | None
    public_grants: int
    anon_privileges: list[str] | None
    anon_granted: bool
    search_path_ok: bool | None
    admin_has_login: bool | None
    admin_has_anon: bool | None
    public_create_open: bool
    functions_private: bool | None = None


@dataclass(frozen=True)
class _Step:
    """One DDL statement and what it does, in words (for logs and errors: no secret)."""

    what: str
    statement: sql.Composed


class PostgresProvisioner:
    """`DatabaseProvisioner` on PostgreSQL (Aurora in production), through an admin role
    with CREATEROLE (an RDS master user, or `plattr_admin` in the local stack).

    `calls` counts statements: reads (catalog queries, the lock) and writes (DDL)."""

    def __init__(
        self,
        conninfo: str,
        *,
        connect_timeout: int = CONNECT_TIMEOUT,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._conninfo = conninfo
        self._connect_timeout = connect_timeout
        self._sleep = sleep
        params = conninfo_to_dict(conninfo)
        self._password = str(params.get("password") or "")
        self._host = str(params.get("host") or "localhost")
        self._port = int(str(params.get("port") or 5432))
        self._user = str(params.get("user") or "")
        self._dbname = str(params.get("dbname") or self._user)
        self.calls = CallCounter()

    def __repr__(self) -> str:
        return f"PostgresProvisioner({self._user}@{self._host}:{self._port}/{self._dbname})"

    def endpoint(self) -> DatabaseEndpoint:
        return DatabaseEndpoint(self._host, self._port, self._dbname)

    # --- the interface ------------------------------------------------------------------

    def ensure(self, target: Target, password: str, *, reset_password: bool) -> bool:
        with self._transaction(target, password) as conn:
            verifier = _scram_verifier(conn, target.login_role, password)
            if not _plan(target, self._read_state(conn, target), verifier, reset_password):
                return False
            self._lock(conn)
            state = self._read_state(conn, target)  # another controller may have won the race
            steps = _plan(target, state, verifier, reset_password)
            for step in steps:
                self._run(conn, step)
            if steps:
                log.info("database: %s: %s", target.schema, "; ".join(step.what for step in steps))
            return bool(steps)

    def drop(self, target: Target) -> bool:
        with self._transaction(target) as conn:
            state = self._read_state(conn, target)
            if state.login_ok is None and state.anon_ok is None and state.schema_owned is None:
                return False
            self._lock(conn)
            state = self._read_state(conn, target)
            steps = _drop_plan(target, state)
            for step in steps:
                self._run(conn, step)
            log.info("database: %s: %s", target.schema, "; ".join(s.what for s in steps))
            return bool(steps)

    # --- plumbing -----------------------------------------------------------------------

    @contextmanager
    def _transaction(self, target: Target, *secrets: str) -> Iterator[psycopg.Connection[Any]]:
        """A connection in one transaction; psycopg errors become ProvisionerErrors."""
        hidden = (self._password, *secrets)
        try:
            conn = self._connect()
        except psycopg.Error as exc:
            raise ProvisionerError(
                "DatabaseUnreachable",
                redact(
                    f"cannot connect to PostgreSQL at {self._host}:{self._port} as "
                    f"{self._user!r}: {_first_line(exc)}; check that it is up and that "
                    "DB_ADMIN_URL (or the DB_SECRET_ARN secret and DB_HOST) is right",
                    *hidden,
                ),
            ) from None
        try:
            with conn, conn.transaction():
                yield conn
        except psycopg.OperationalError as exc:
            raise ProvisionerError(
                "DatabaseUnreachable",
                redact(
                    f"lost PostgreSQL at {self._host}:{self._port} while provisioning schema "
                    f"{target.schema!r}: {_first_line(exc)}; it is retried",
                    *hidden,
                ),
            ) from None
        except psycopg.Error as exc:
            raise ProvisionerError(
                "DatabaseError", redact(_describe(exc, target), *hidden)
            ) from None

    def _connect(self) -> psycopg.Connection[Any]:
        """A new connection; asked again (`SLOTS_RETRIES`) while the server has no slot free."""
        failures = 0
        while True:
            try:
                return psycopg.connect(
                    self._conninfo,
                    connect_timeout=self._connect_timeout,
                    application_name=APPLICATION_NAME,
                    options=f"-c statement_timeout={STATEMENT_TIMEOUT_MS}"
                    f" -c lock_timeout={STATEMENT_TIMEOUT_MS}",
                )
            except psycopg.OperationalError as exc:
                failures += 1
                delay = SLOTS_RETRIES.delay(failures)
                if delay is None or not too_many_connections(exc):
                    raise
                self.calls.throttle()
                self._sleep(delay)

    def _read_state(self, conn: psycopg.Connection[Any], target: Target) -> _State:
        self.calls.record(write=False)
        with conn.cursor(row_factory=dict_row) as cur:
            cur.execute(
                _STATE_QUERY,
                {"login": target.login_role, "anon": target.anon_role, "schema": target.schema},
            )
            row = cur.fetchone()
        if row is None:  # cannot happen: a SELECT without FROM returns one row
            raise psycopg.InternalError("the catalog query returned no row")
        return _State(**row)

    def _lock(self, conn: psycopg.Connection[Any]) -> None:
        self.calls.record(write=False)
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (DDL_LOCK_KEY,))

    def _run(self, conn: psycopg.Connection[Any], step: _Step) -> None:
        self.calls.record(write=True)
        try:
            conn.execute(step.statement)
        except psycopg.Error as exc:
            exc.add_note(step.what)  # the statement may hold a verifier: name the step only
            raise


def too_many_connections(exc: psycopg.Error) -> bool:
    """Whether PostgreSQL refused for want of connection slots (53300)."""
    return exc.sqlstate == TOO_MANY_CONNECTIONS or any(
        message in str(exc) for message in _TOO_MANY_MESSAGES
    )


class _Plan:
    """DDL steps in the order they must run."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.login = sql.Identifier(target.login_role)
        self.anon = sql.Identifier(target.anon_role)
        self.schema = sql.Identifier(target.schema)
        self.steps: list[_Step] = []

    def add(self, what: str, template: str, *parts: sql.Composable) -> None:
        self.steps.append(_Step(what, sql.SQL(template).format(*parts)))


def _plan(target: Target, state: _State, verifier: str, reset_password: bool) -> list[_Step]:
    """The DDL that brings `state` to the wanted state. The login role gets the password
    `verifier` when it is created, or when `reset_password`."""
    plan = _Plan(target)
    _plan_roles(plan, state, sql.Literal(verifier), reset_password)
    _plan_schema(plan, state)
    _plan_functions(plan, state)
    return plan.steps


def _plan_roles(plan: _Plan, state: _State, password: sql.Composable, reset_password: bool) -> None:
    t, limits = plan.target, sql.SQL(_ROLE_LIMITS)
    if state.login_ok is None:
        plan.add(
            f"create login role {t.login_role}",
            "CREATE ROLE {} LOGIN {} PASSWORD {}",
            plan.login,
            limits,
            password,
        )
    else:
        if not state.login_ok:
            plan.add(
                f"reset attributes of role {t.login_role}",
                "ALTER ROLE {} LOGIN {}",
                plan.login,
                limits,
            )
        if reset_password:
            plan.add(
                f"set the password of role {t.login_role}",
                "ALTER ROLE {} PASSWORD {}",
                plan.login,
                password,
            )
    if state.anon_ok is None:
        plan.add(f"create role {t.anon_role}", "CREATE ROLE {} NOLOGIN {}", plan.anon, limits)
    elif not state.anon_ok:
        plan.add(
            f"reset attributes of role {t.anon_role}", "ALTER ROLE {} NOLOGIN {}", plan.anon, limits
        )
    if not state.anon_granted:
        plan.add(f"grant {t.anon_role} to {t.login_role}", "GRANT {} TO {}", plan.anon, plan.login)
    if not state.search_path_ok:
        plan.add(
            f"set search_path of {t.login_role} to {t.schema}",
            "ALTER ROLE {} SET search_path TO {}",
            plan.login,
            plan.schema,
        )


def _plan_schema(plan: _Plan, state: _State) -> None:
    t = plan.target
    if not state.schema_owned and not state.admin_has_login:
        plan.add(f"let the admin act for {t.login_role}", "GRANT {} TO CURRENT_USER", plan.login)
    if state.schema_owned is None:
        plan.add(
            f"create schema {t.schema}",
            "CREATE SCHEMA {} AUTHORIZATION {}",
            plan.schema,
            plan.login,
        )
    elif not state.schema_owned:
        plan.add(
            f"give schema {t.schema} to {t.login_role}",
            "ALTER SCHEMA {} OWNER TO {}",
            plan.schema,
            plan.login,
        )
    if state.public_grants:
        plan.add(
            f"revoke all on schema {t.schema} from PUBLIC",
            "REVOKE ALL ON SCHEMA {} FROM PUBLIC",
            plan.schema,
        )
    if state.anon_privileges != ["USAGE"]:
        if state.anon_privileges:
            plan.add(
                f"revoke all on schema {t.schema} from {t.anon_role}",
                "REVOKE ALL ON SCHEMA {} FROM {}",
                plan.schema,
                plan.anon,
            )
        plan.add(
            f"grant usage on schema {t.schema} to {t.anon_role}",
            "GRANT USAGE ON SCHEMA {} TO {}",
            plan.schema,
            plan.anon,
        )
    if state.public_create_open:
        plan.add(
            "revoke create on schema public from PUBLIC",
            "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
        )


def _plan_functions(plan: _Plan, state: _State) -> None:
    """PostgreSQL lets PUBLIC execute every new function; PostgREST serves the schema's
    functions to the internet as `_anon`. So the app's functions are callable only once it
    grants them (a SECURITY DEFINER function would otherwise run as the app for anyone)."""
    if state.functions_private:
        return
    t = plan.target
    if state.schema_owned and not state.admin_has_login:  # _plan_schema did not grant it
        plan.add(f"let the admin act for {t.login_role}", "GRANT {} TO CURRENT_USER", plan.login)
    plan.add(
        f"new functions of {t.login_role} not executable by PUBLIC",
        "ALTER DEFAULT PRIVILEGES FOR ROLE {} REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC",
        plan.login,
    )


def _drop_plan(target: Target, state: _State) -> list[_Step]:
    steps: list[_Step] = []
    if state.schema_owned is not None:
        steps.append(
            _Step(
                f"drop schema {target.schema}",
                sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(target.schema)),
            )
        )
    roles = [
        (target.anon_role, state.anon_ok, state.admin_has_anon),
        (target.login_role, state.login_ok, state.admin_has_login),
    ]
    for name, exists, admin_has in roles:
        if exists is None:
            continue
        role = sql.Identifier(name)
        if not admin_has:  # REASSIGN/DROP OWNED need the role's privileges
            steps.append(
                _Step(
                    f"let the admin act for {name}",
                    sql.SQL("GRANT {} TO CURRENT_USER").format(role),
                )
            )
        steps += [
            _Step(
                f"reassign what {name} owns",
                sql.SQL("REASSIGN OWNED BY {} TO CURRENT_USER").format(role),
            ),
            _Step(f"drop what {name} owns", sql.SQL("DROP OWNED BY {}").format(role)),
            _Step(f"drop role {name}", sql.SQL("DROP ROLE {}").format(role)),
        ]
    return steps


def _scram_verifier(conn: psycopg.Connection[Any], role: str, password: str) -> str:
    """The SCRAM-SHA-256 verifier of `password`, computed by libpq on this side."""
    verifier = conn.pgconn.encrypt_password(password.encode(), role.encode(), b"scram-sha-256")
    return verifier.decode()


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _describe(exc: psycopg.Error, target: Target) -> str:
    diag = exc.diag
    notes = getattr(exc, "__notes__", [])
    step = f" ({notes[-1]})" if notes else ""
    message = diag.message_primary or _first_line(exc)
    return (
        f"PostgreSQL refused to provision schema {target.schema!r}{step}: "
        f"{diag.sqlstate or ''} {message}; the admin role needs CREATEROLE and ownership "
        "of the database"
    ).replace("  ", " ")
