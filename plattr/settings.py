"""The platform settings every part of Plattr reads, checked the same way everywhere.

The CLI (flags, `BASE_DOMAIN`, a GitOps repo's settings file), the Argo CD plugin (parameters
and plugin env) and the controller (its environment) all take a base domain and an AWS
account id; each asks these functions, so a value one accepts the others accept too.
Each check returns `None` for a good value, else the rule it breaks, for a message that
names where the value came from.
"""

from __future__ import annotations

import re
from typing import Final

from plattr import patterns

AWS_ACCOUNT_ID: Final = re.compile(r"[0-9]{12}")
DNS_NAME_MAX: Final = 253


def base_domain_problem(value: str) -> str | None:
    """Why `value` cannot be the apps' base domain, or None."""
    if len(value) > DNS_NAME_MAX or not re.fullmatch(patterns.DNS1123_SUBDOMAIN, value):
        return f"{value!r} is not a DNS name such as apps.example.com"
    return None


def aws_account_id_problem(value: str) -> str | None:
    """Why `value` cannot be an AWS account id, or None."""
    if not AWS_ACCOUNT_ID.fullmatch(value):
        return f"{value!r} is not an AWS account id (12 digits)"
    return None
