"""plattr-controller: provisions what Git cannot for each Application and PreviewEnvironment.

Data flows one way, I/O at the edges:

- `config`: settings from the environment; `main`: the `plattr-controller` entry point.
- `kube` (JSON over the kubernetes client), `reflector` (list + watch), `cache`,
  `workqueue`, `leader` (Lease), `runtime` (wires them; `ControllerView` for HTTP).
- `subjects` (what a resource asks for), `reconciler`, `conditions`, `app_config` (Secret
  and ConfigMap contents), `cluster` (the Kubernetes side the reconciler writes), `sweep`
  (preview TTL), `provisioners/` (database, storage, auth behind Protocols), `services`
  (the real ones, from the settings).
- `http` (health, readiness, metrics; the dashboard extends it), `metrics`, `logs`.

See controller/README.md for settings, behaviour and metrics.
"""
