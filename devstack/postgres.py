"""PostgreSQL 15, the stand-in for Aurora: a fresh cluster on a loopback port with a `plattr`
database owned by an admin role (LOGIN CREATEROLE CREATEDB, like an RDS master user)."""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql

from devstack.errors import StackError
from devstack.ports import LOOPBACK, free_port
from devstack.process import Service, run, spawn, wait_until

DATABASE = "plattr"
ADMIN_USER = "plattr_admin"
SUPERUSER = "postgres"
SERVER_USER = "postgres"  # PostgreSQL refuses to run as root
READY_TIMEOUT = 30.0


@dataclass(frozen=True)
class Postgres:
    host: str
    port: int
    database: str
    admin_user: str
    admin_password: str = field(repr=False)
    data_dir: Path
    process: Service

    @property
    def admin_url(self) -> str:
        """postgresql:// URL of the admin role on the `plattr` database (DB_ADMIN_URL)."""
        password = quote(self.admin_password, safe="")
        return f"postgresql://{self.admin_user}:{password}@{self.host}:{self.port}/{self.database}"

    @property
    def services(self) -> tuple[Service, ...]:
        return (self.process,)

    def stop(self) -> None:
        self.process.stop()
        shutil.rmtree(self.data_dir.parent, ignore_errors=True)


def bin_dir() -> Path:
    """PG_BINDIR, else Debian's PostgreSQL 15, else wherever pg_ctl on PATH points."""
    candidates = [Path(p) for p in (os.environ.get("PG_BINDIR"),) if p]
    candidates.append(Path("/usr/lib/postgresql/15/bin"))
    if pg_ctl := shutil.which("pg_ctl"):
        candidates.append(Path(pg_ctl).resolve().parent)
    for directory in candidates:
        if (directory / "postgres").is_file() and (directory / "initdb").is_file():
            return directory
    raise StackError(
        "PostgreSQL 15 not found (postgres, initdb): run tools/install-system-deps.sh "
        "or set PG_BINDIR"
    )


def _server_user() -> str | None:
    """The user to run the server as: `postgres` when we are root, else ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError as exc:
        raise StackError(
            f"running as root needs a `{SERVER_USER}` user: run tools/install-system-deps.sh"
        ) from exc
    return SERVER_USER


def start_postgres(state_dir: Path) -> Postgres:
    """initdb a new cluster, start it, create the admin role and the `plattr` database."""
    user = _server_user()
    # The server user must reach its data directory, so it lives in a private temp dir of its
    # own rather than under state_dir (pytest's temp dirs are 0700 root).
    home = Path(tempfile.mkdtemp(prefix="devstack-postgres-"))
    data = home / "data"
    superuser_password = secrets.token_urlsafe(24)
    password_file = home / "superuser-password"
    password_file.write_text(superuser_password)
    if user:
        shutil.chown(home, user)
        shutil.chown(password_file, user)
    binaries = bin_dir()
    try:
        run(
            [
                binaries / "initdb",
                f"--pgdata={data}",
                f"--username={SUPERUSER}",
                f"--pwfile={password_file}",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--no-sync",
            ],
            "initdb",
            user=user,
        )
        password_file.unlink()
        port = free_port()
        process = spawn(
            "postgres",
            [
                binaries / "postgres",
                "-D",
                data,
                "-p",
                str(port),
                "-c",
                f"listen_addresses={LOOPBACK}",
                "-c",
                "unix_socket_directories=",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ],
            state_dir / "logs",
            user=user,
        )
    except BaseException:
        shutil.rmtree(home, ignore_errors=True)
        raise
    superuser = (
        f"host={LOOPBACK} port={port} user={SUPERUSER} dbname=postgres "
        f"password={superuser_password} connect_timeout=2"
    )
    server = Postgres(
        LOOPBACK, port, DATABASE, ADMIN_USER, secrets.token_urlsafe(24), data, process
    )
    try:
        wait_until(lambda: _accepts(superuser), "accepting connections", READY_TIMEOUT, process)
        _create_admin(superuser, server)
    except BaseException:
        server.stop()
        raise
    return server


def _accepts(conninfo: str) -> bool:
    try:
        psycopg.connect(conninfo).close()
    except psycopg.OperationalError:
        return False
    return True


def _create_admin(superuser: str, server: Postgres) -> None:
    with psycopg.connect(superuser, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN CREATEROLE CREATEDB PASSWORD {}").format(
                sql.Identifier(server.admin_user), sql.Literal(server.admin_password)
            )
        )
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(server.database), sql.Identifier(server.admin_user)
            )
        )
