"""What the AWS-backed provisioners share: counting botocore calls, and turning botocore's
exceptions into `ProvisionerError`s that name the service, the object and the fix."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from controller.provisioners.counting import CallCounter
from controller.provisioners.interfaces import ProvisionerError

READ_PREFIXES: Final = ("Get", "Head", "List", "Describe")


def count_calls(client: Any, counter: CallCounter) -> None:
    """Record every operation `client` makes (once per call, retries not counted again)."""

    def before_call(model: Any, **_: Any) -> None:
        counter.record(write=not str(model.name).startswith(READ_PREFIXES))

    client.meta.events.register("before-call", before_call)


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
