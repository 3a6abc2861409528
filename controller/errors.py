"""The controller's own errors: everything it raises on purpose derives from `ControllerError`
(a `plattr.errors.PlattrError`), with a message for the person who can fix it.

- `controller.config.ConfigError`: the environment is not usable (exit code `USAGE`).
- `controller.provisioners.interfaces.ProvisionerError`: a dependency (PostgreSQL, S3/IAM,
  Keycloak) failed or is misconfigured; its `reason` becomes a condition's reason.
- `controller.subjects.InvalidSubject`: a resource that does not decode into its model.
- `PolicyRefusal`: an action the controller's safety rules forbid.

The generic machinery (`controller.machinery`) has errors of its own (`KubeError`,
`NotLeader`), independent of Plattr; the domain catches them by name.
"""

from __future__ import annotations

from plattr.errors import PlattrError


class ControllerError(PlattrError):
    """An error the controller raises on purpose."""


class PolicyRefusal(ControllerError):
    """The controller refused an action its safety rules forbid (e.g. deleting a namespace
    that is not a preview's); nothing was changed."""
