"""Settings from the environment: defaults, and every problem reported at once."""

from __future__ import annotations

import pytest

from controller.config import ConfigError, Settings
from controller.errors import ControllerError
from plattr.errors import ExitCode
from plattr.settings import aws_account_id_problem, base_domain_problem

MINIMAL = {
    "BASE_DOMAIN": "apps.example.com",
    "AWS_REGION": "eu-west-1",
    "DB_ADMIN_URL": "postgresql://admin:hunter2@db:5432/plattr",
    "DASHBOARD_AUTH": "none",
}


def test_defaults_are_the_ones_controller_readme_documents() -> None:
    settings = Settings.from_env(MINIMAL)
    assert settings.metrics_port == 9090
    assert settings.ttl_sweep_seconds == 300
    assert settings.leader.enabled is False
    assert settings.leader.name == "plattr-operator-leader"
    assert (settings.leader.lease_seconds, settings.leader.renew_seconds) == (15, 5)
    assert settings.keycloak is None
    assert settings.watch_namespaces == ()


def test_every_problem_is_listed_at_once_with_the_fix() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"METRICS_PORT": "ninety", "WORKERS": "0", "LEADER_ELECTION": "maybe"})
    problems = caught.value.problems
    assert any(p.startswith("BASE_DOMAIN: not set") for p in problems)
    assert any(p.startswith("AWS_REGION: not set") for p in problems)
    assert any("DB_ADMIN_URL / DB_SECRET_ARN" in p for p in problems)
    assert any(p.startswith("METRICS_PORT='ninety': not a number") for p in problems)
    assert any(p.startswith("WORKERS='0': out of range") for p in problems)
    assert any(p.startswith("LEADER_ELECTION='maybe': not a boolean") for p in problems)
    assert "controller/README.md" in str(caught.value)


def test_a_bad_admin_url_is_reported_without_echoing_it() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({**MINIMAL, "DB_ADMIN_URL": "mysql://root:hunter2@db"})
    assert "hunter2" not in str(caught.value)
    assert "DB_ADMIN_URL" in str(caught.value)


def test_secrets_stay_out_of_repr() -> None:
    env = {
        **MINIMAL,
        "KEYCLOAK_URL": "http://kc:8080",
        "KEYCLOAK_ADMIN_USER": "admin",
        "KEYCLOAK_ADMIN_PASSWORD": "s3cret-pw",
    }
    text = repr(Settings.from_env(env))
    assert "hunter2" not in text
    assert "s3cret-pw" not in text


def test_secret_arn_needs_db_host() -> None:
    env = {
        "BASE_DOMAIN": "a.example.com",
        "AWS_REGION": "eu-west-1",
        "DB_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:1:secret:x",
        "DASHBOARD_AUTH": "none",
    }
    with pytest.raises(ConfigError, match="DB_HOST: not set"):
        Settings.from_env(env)
    assert Settings.from_env({**env, "DB_HOST": "aurora"}).database.host == "aurora"


def test_keycloak_needs_its_url_and_one_source_of_admin_credentials() -> None:
    url = {"KEYCLOAK_URL": "http://kc:8080"}
    with pytest.raises(ConfigError, match="neither is set, but KEYCLOAK_URL is"):
        Settings.from_env({**MINIMAL, **url, "KEYCLOAK_ADMIN_USER": "admin"})
    with pytest.raises(ConfigError, match="KEYCLOAK_URL: not set"):
        Settings.from_env({**MINIMAL, "KEYCLOAK_ADMIN_SECRET": "plattr-system/keycloak-admin"})
    with pytest.raises(ConfigError, match="both set"):
        Settings.from_env(
            {
                **MINIMAL,
                **url,
                "KEYCLOAK_ADMIN_USER": "admin",
                "KEYCLOAK_ADMIN_PASSWORD": "pw",
                "KEYCLOAK_ADMIN_SECRET": "plattr-system/keycloak-admin",
            }
        )
    with pytest.raises(ConfigError, match="KEYCLOAK_ADMIN_SECRET='keycloak-admin': not"):
        Settings.from_env({**MINIMAL, **url, "KEYCLOAK_ADMIN_SECRET": "keycloak-admin"})


def test_keycloak_admin_secret_names_where_the_credentials_will_be() -> None:
    env = {
        **MINIMAL,
        "KEYCLOAK_URL": "http://kc:8080/",
        "KEYCLOAK_ADMIN_SECRET": "plattr-system/keycloak-admin",
    }
    keycloak = Settings.from_env(env).keycloak
    assert keycloak is not None
    assert keycloak.url == "http://kc:8080"
    assert str(keycloak.admin_secret) == "plattr-system/keycloak-admin"
    assert keycloak.admin_password is None


def test_keycloak_concurrency_is_bounded() -> None:
    env = {
        **MINIMAL,
        "KEYCLOAK_URL": "http://kc:8080",
        "KEYCLOAK_ADMIN_USER": "admin",
        "KEYCLOAK_ADMIN_PASSWORD": "s3cret-pw",
    }
    keycloak = Settings.from_env(env).keycloak
    assert keycloak is not None
    assert keycloak.concurrency == 2  # the default controller/README.md documents
    with pytest.raises(ConfigError, match="KEYCLOAK_CONCURRENCY='0': out of range"):
        Settings.from_env({**env, "KEYCLOAK_CONCURRENCY": "0"})


def test_renew_must_be_shorter_than_the_lease() -> None:
    with pytest.raises(ConfigError, match="LEASE_RENEW_SECONDS"):
        Settings.from_env({**MINIMAL, "LEASE_DURATION_SECONDS": "5", "LEASE_RENEW_SECONDS": "5"})


def test_watch_namespaces_is_a_comma_list() -> None:
    settings = Settings.from_env({**MINIMAL, "WATCH_NAMESPACES": "staging, uat,"})
    assert settings.watch_namespaces == ("staging", "uat")


def test_a_configuration_problem_is_a_controller_error_that_exits_as_a_usage_error() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({})
    assert isinstance(caught.value, ControllerError)
    assert caught.value.exit_code == ExitCode.USAGE


def test_base_domain_and_account_id_are_checked_as_the_cli_and_the_plugin_check_them() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({**MINIMAL, "BASE_DOMAIN": "NOT A DOMAIN", "AWS_ACCOUNT_ID": "12"})
    assert caught.value.problems == [
        f"BASE_DOMAIN: {base_domain_problem('NOT A DOMAIN')}",
        f"AWS_ACCOUNT_ID: {aws_account_id_problem('12')}",
    ]


def test_verify_periods_default_to_an_hour_per_system_and_zero_verifies_every_resync() -> None:
    assert Settings.from_env(MINIMAL).verify_seconds == {
        "database": 3600,
        "storage": 3600,
        "auth": 3600,
    }
    settings = Settings.from_env({**MINIMAL, "STORAGE_VERIFY_SECONDS": "0"})
    assert settings.verify_seconds["storage"] == 0
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(
            {**MINIMAL, "AUTH_VERIFY_SECONDS": "-1", "DATABASE_VERIFY_SECONDS": "hourly"}
        )
    problems = caught.value.problems
    assert any(p.startswith("AUTH_VERIFY_SECONDS='-1': out of range") for p in problems)
    assert any(p.startswith("DATABASE_VERIFY_SECONDS='hourly': not a number") for p in problems)
