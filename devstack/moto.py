"""A moto server: S3, IAM and Secrets Manager on a loopback port (AWS_ENDPOINT_URL)."""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from devstack.errors import StackError
from devstack.ports import LOOPBACK, free_port
from devstack.postgres import Postgres
from devstack.probes import http_status
from devstack.process import Service, spawn, wait_until

REGION = "us-east-1"
ACCESS_KEY = "testing"  # moto accepts any key: these are not secrets
DB_ADMIN_SECRET = "plattr/db-admin"  # a name, not a secret  # noqa: S105
READY_TIMEOUT = 30.0


@dataclass(frozen=True)
class Moto:
    endpoint_url: str
    region: str
    process: Service

    @property
    def env(self) -> dict[str, str]:
        """What an AWS SDK needs to talk to this server instead of AWS."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": ACCESS_KEY,
        }

    def client(self, service: str) -> Any:
        """A boto3 client for `service` (s3, iam, secretsmanager, ...) bound to this server."""
        return boto3.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=ACCESS_KEY,
        )

    def put_foreign_policy(self, bucket: str) -> None:
        """Drift: a bucket policy someone set by hand (a Deny: not public, so a bucket's
        public access block lets it in), which Plattr is to remove."""
        statement = {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:DeleteBucket",
            "Resource": f"arn:aws:s3:::{bucket}",
        }
        policy = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
        self.client("s3").put_bucket_policy(Bucket=bucket, Policy=policy)

    def has_policy(self, bucket: str) -> bool:
        s3 = self.client("s3")
        try:
            s3.get_bucket_policy(Bucket=bucket)
        except s3.exceptions.ClientError:
            return False
        return True

    @property
    def services(self) -> tuple[Service, ...]:
        return (self.process,)

    def stop(self) -> None:
        self.process.stop()


def _moto_server() -> Path:
    beside_python = Path(sys.executable).parent / "moto_server"
    found = beside_python if beside_python.is_file() else shutil.which("moto_server")
    if not found:
        raise StackError("moto_server not found: run `make setup` (the dev extra has moto[server])")
    return Path(found)


def start_moto(state_dir: Path) -> Moto:
    port = free_port()
    process = spawn("moto", [_moto_server(), "-H", LOOPBACK, "-p", str(port)], state_dir / "logs")
    moto = Moto(f"http://{LOOPBACK}:{port}", REGION, process)
    try:
        wait_until(
            lambda: http_status(f"{moto.endpoint_url}/moto-api/") == 200,
            "serving",
            READY_TIMEOUT,
            process,
        )
    except BaseException:
        moto.stop()
        raise
    return moto


def store_db_admin_secret(moto: Moto, postgres: Postgres) -> str:
    """Store the Postgres admin credentials as `plattr/db-admin`, in the shape RDS gives its
    managed master-user secrets. Returns the secret's ARN (DB_SECRET_ARN)."""
    value = {
        "username": postgres.admin_user,
        "password": postgres.admin_password,
        "host": postgres.host,
        "port": postgres.port,
        "dbname": postgres.database,
        "engine": "postgres",
    }
    answer = moto.client("secretsmanager").create_secret(
        Name=DB_ADMIN_SECRET, SecretString=json.dumps(value)
    )
    arn: str = answer["ARN"]
    return arn
