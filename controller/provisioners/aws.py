"""What the AWS-backed provisioners share: counting botocore calls, and turning botocore's
exceptions into `ProvisionerError`s that name the service, the object and the fix."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from controller.provisioners.counting import CallCounter
from controller.provisioners.interfaces import ProvisionerError

READ_PREFIXES: Final = ("Get", "Head", "List", "Describe")
THROTTLING_CODES: Final = frozenset(
    {"Throttling", "ThrottlingException", "SlowDown", "RequestLimitExceeded", "TooManyRequests"}
)
THROTTLING_STATUS: Final = frozenset({429, 503})
CLIENT_CONFIG: Final = Config(retries={"mode": "standard", "max_attempts": 5})
"""Every AWS client's: botocore's standard retry mode retries throttling (and other
transient) answers with jittered exponential backoff, up to 5 attempts, below the provisioner:
an app's reconcile retries are spent only when that is not enough."""


def client(service: str, *, region: str, endpoint_url: str | None) -> Any:
    """A boto3 client of `service` from the default credential chain (IRSA in a cluster)."""
    import boto3

    return boto3.client(
        service, region_name=region, endpoint_url=endpoint_url, config=CLIENT_CONFIG
    )


def count_calls(client: Any, counter: CallCounter) -> None:
    """Record every operation `client` makes (once per call, retries not counted again), and
    every answer that throttled it (each attempt)."""

    def before_call(model: Any, **_: Any) -> None:
        counter.record(write=not str(model.name).startswith(READ_PREFIXES))

    def needs_retry(response: Any = None, **_: Any) -> None:
        if response is not None and throttled(response[0].status_code, response[1]):
            counter.throttle()

    client.meta.events.register("before-call", before_call)
    client.meta.events.register("needs-retry", needs_retry)


def throttled(status: int, parsed: Any) -> bool:
    """Whether AWS answered: slow down (by status, or by error code in the answer)."""
    code = (parsed or {}).get("Error", {}).get("Code", "")
    return status in THROTTLING_STATUS or code in THROTTLING_CODES


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@contextmanager
def aws_errors(reason: str, what: str, fix: str) -> Iterator[None]:
    """Re-raise botocore failures of `what` (e.g. "S3 CreateBucket on bucket x") as
    ProvisionerError(`reason` or `<reason's prefix>Unreachable`); `fix` ends the message."""
    unreachable = reason.removesuffix("Error") + "Unreachable"
    try:
        yield
    except NoCredentialsError:
        raise ProvisionerError(
            reason, f"{what} failed: no AWS credentials; give the controller its IRSA role"
        ) from None
    except ClientError as exc:
        message = exc.response.get("Error", {}).get("Message", "")
        raise ProvisionerError(
            reason, f"{what} failed: {error_code(exc)}: {message}; {fix}"
        ) from None
    except BotoCoreError as exc:
        raise ProvisionerError(
            unreachable, f"{what} failed: {exc}; check AWS_REGION and AWS_ENDPOINT_URL"
        ) from None
