"""Generic Kubernetes-controller machinery, with no knowledge of Plattr.

- `objects`: `ApiResource` (a resource's API path and label selector), `ObjectKey`,
  `KubeObject` (an object as the API server's JSON).
- `kube`: a typed JSON client over the official kubernetes client; `KubeError` decodes the
  API server's refusals.
- `reflector` (list, then watch, into the `cache`), `cache` (every watched object in memory),
  `workqueue` (keys, deduplicated, one worker per key, delays and retries), `backoff`
  (retry schedules and reconnect backoff), `leader` (leader election on a Lease).

It imports nothing from `plattr` or from the rest of `controller` (an import-linter contract
in pyproject.toml says so); the controller's domain builds on it.
"""
