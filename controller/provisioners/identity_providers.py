"""The platform's identity-provider credentials: one Kubernetes Secret, read by the runtime.

Secret `plattr-identity-providers` in namespace `plattr-system` holds, for each provider the
platform offers (google, github, gitlab, microsoft, bitbucket, facebook), the OAuth client
registered with that provider:

    <provider>.clientId:     the client id the provider issued
    <provider>.clientSecret: its secret

for example `github.clientId` and `github.clientSecret`. The callback URL to register with
the provider is `{KEYCLOAK_URL}/realms/<realm>/broker/<provider>/endpoint`. The auth
provisioner takes the Secret's decoded data as a plain mapping and so needs no Kubernetes;
a provider an app asks for without credentials here fails that app's AuthReady with a
message naming the keys to add.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, NamedTuple

from controller.provisioners.interfaces import ProvisionerError

# names of a Secret and of its keys, not secrets
SECRET_NAME: Final = "plattr-identity-providers"  # noqa: S105
SECRET_NAMESPACE: Final = "plattr-system"  # noqa: S105
CLIENT_ID_KEY: Final = "{provider}.clientId"
CLIENT_SECRET_KEY: Final = "{provider}.clientSecret"  # noqa: S105
REASON: Final = "IdentityProviderNotConfigured"


class ProviderCredentials(NamedTuple):
    client_id: str
    client_secret: str

    def __repr__(self) -> str:
        return f"ProviderCredentials(client_id={self.client_id!r}, client_secret=<hidden>)"


def credentials_for(data: Mapping[str, str], provider: str) -> ProviderCredentials:
    """The credentials of `provider` from the Secret's (decoded) data."""
    keys = CLIENT_ID_KEY.format(provider=provider), CLIENT_SECRET_KEY.format(provider=provider)
    client_id, client_secret = (data.get(key, "").strip() for key in keys)
    if not client_id or not client_secret:
        missing = [
            key for key, value in zip(keys, (client_id, client_secret), strict=True) if not value
        ]
        raise ProvisionerError(
            REASON,
            f"identity provider {provider!r} is not configured: add {' and '.join(missing)} "
            f"to Secret {SECRET_NAMESPACE}/{SECRET_NAME} (the OAuth client registered with "
            f"{provider})",
        )
    return ProviderCredentials(client_id, client_secret)
