"""The PostgREST sidecar's fixed facts: one place to upgrade it."""

from typing import Final

IMAGE: Final = "postgrest/postgrest:v12.2.3"
PORT: Final = 3001
"""Where PostgREST serves its API (not its default 3000, which Node and Next.js apps use)."""
ADMIN_PORT: Final = 3002
"""PostgREST's admin server: /live and /ready for the probes."""
PORTS: Final = frozenset({PORT, ADMIN_PORT})
INGRESS_PATH: Final = "/rest"
"""Public path prefix routed to PostgREST (stripped before it reaches it)."""
