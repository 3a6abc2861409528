"""Where the admin connection comes from: every way it cannot be found is a ProvisionerError
(what `plattr-controller` reports at start-up) that names the setting to fix."""

from __future__ import annotations

import pytest

from controller.provisioners.db_admin import admin_conninfo
from controller.provisioners.interfaces import ProvisionerError


def test_the_admin_url_becomes_a_conninfo() -> None:
    conninfo = admin_conninfo(
        admin_url="postgresql://admin:pw@db:5432/plattr", secret_arn=None, host=None
    )
    assert "host=db" in conninfo
    assert "user=admin" in conninfo


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"admin_url": None, "secret_arn": None, "host": None}, "DB_ADMIN_URL"),
        (
            {"admin_url": None, "secret_arn": "arn:aws:secretsmanager:x", "host": "db"},
            "DB_SECRET_ARN",
        ),
        ({"admin_url": "postgresql://db", "secret_arn": None, "host": None}, "DB_ADMIN_URL"),
    ],
)
def test_a_missing_source_names_the_setting(settings: dict[str, str | None], named: str) -> None:
    with pytest.raises(ProvisionerError, match=named) as caught:
        admin_conninfo(**settings)
    assert caught.value.reason == "DatabaseError"
