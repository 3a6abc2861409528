"""Regular expressions for the names and values Kubernetes, S3 and Postgres accept.

They are written for RE2 as well as Python `re`, because they also land in the CRDs'
openAPIV3Schema, where the API server evaluates them.
"""

from typing import Final

DNS1123_LABEL: Final = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS1035_LABEL: Final = r"^[a-z]([-a-z0-9]*[a-z0-9])?$"
DNS1123_SUBDOMAIN: Final = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
_COMPONENT: Final = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN: Final = (
    r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*"
    r"(?::[0-9]+)?"
)
_REPOSITORY: Final = rf"(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*"
IMAGE_REPOSITORY: Final = rf"^{_REPOSITORY}$"
IMAGE_REFERENCE: Final = rf"^{_REPOSITORY}(?::[\w][\w.-]{{0,127}})?(?:@sha256:[a-f0-9]{{64}})?$"
QUANTITY: Final = r"^[0-9]+(\.[0-9]{1,9})?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$"
ENV_VAR_NAME: Final = r"^[A-Za-z_][A-Za-z0-9_]*$"
CONFIG_KEY: Final = r"^[-._a-zA-Z0-9]+$"
QUALIFIED_NAME: Final = (
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)
LABEL_VALUE: Final = r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"
BUCKET_LOGICAL_NAME: Final = r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$"
TTL: Final = r"^[1-9][0-9]{0,4}(m|h|d)$"
RESERVED_KEY_PREFIXES: Final = ("app.kubernetes.io/", "platform.internal/")
RESERVED_BUCKET_SUFFIXES: Final = ("-s3alias", "--ol-s3", "--x-s3", "--table-s3")
HTTP_PATH: Final = r"^/\S*$"
