"""plattr.namespaces: what a declared environment's namespace holds, and the declaration's rule
that a quota counts only what the LimitRange fills."""

from __future__ import annotations

import pytest

from plattr.environments import InvalidDeclaration, parse, shipped
from plattr.namespaces import LIMIT_RANGE_NAME, QUOTA_NAME, namespace_objects

LABELS = {"platform.internal/environment": "qa"}
MANAGED = {"app.kubernetes.io/managed-by": "test"}


def test_namespace_quota_and_limit_range_of_a_declared_environment() -> None:
    declared = parse(
        {
            "environments": [
                {
                    "name": "qa",
                    "namespace": "quality",
                    "quota": {"requests.cpu": "2", "pods": "10"},
                    "limits": {"defaultRequest": {"cpu": "50m"}, "default": {"memory": "1Gi"}},
                }
            ]
        },
        "test",
    )
    namespace, quota, limits = namespace_objects(declared.declared[0], LABELS, MANAGED)
    assert namespace["metadata"] == {"name": "quality", "labels": {**MANAGED, **LABELS}}
    assert quota["metadata"] == {"name": QUOTA_NAME, "namespace": "quality", "labels": MANAGED}
    assert quota["spec"] == {"hard": {"requests.cpu": "2", "pods": "10"}}
    assert limits["metadata"]["name"] == LIMIT_RANGE_NAME
    assert limits["spec"] == {
        "limits": [
            {"type": "Container", "defaultRequest": {"cpu": "50m"}, "default": {"memory": "1Gi"}}
        ]
    }


def test_an_environment_without_quota_or_limits_gets_its_namespace_only() -> None:
    (environment,) = parse({"environments": [{"name": "dev"}]}, "test")
    assert [m["kind"] for m in namespace_objects(environment, LABELS, {})] == ["Namespace"]


def test_the_shipped_quotas_never_count_cpu_limits() -> None:
    for environment in shipped():
        assert "limits.cpu" not in environment.quota
        assert environment.limits.default_request.keys() >= {"cpu", "memory"}


def test_a_quota_the_limit_range_does_not_fill_is_refused_naming_the_fix() -> None:
    document = {"environments": [{"name": "qa", "quota": {"limits.cpu": "8", "pods": "5"}}]}
    with pytest.raises(InvalidDeclaration) as refused:
        parse(document, "values.yaml")
    assert (
        "environments[qa].quota: 'limits.cpu' without limits.default.cpu: the API server "
        "would refuse every pod whose containers do not set limits.cpu; set "
        "limits.default.cpu or drop 'limits.cpu' from the quota"
    ) in str(refused.value)
    assert "pods" not in str(refused.value)
