"""plattr-controller: provisions what Git cannot for each Application and PreviewEnvironment.

Data flows one way, I/O at the edges:

- `machinery/`: generic Kubernetes-controller parts that know nothing of Plattr (an
  import-linter contract keeps them so): `objects` (`ApiResource`, `ObjectKey`,
  `KubeObject`), `kube` (JSON over the kubernetes client), `reflector` (list + watch),
  `cache`, `workqueue`, `backoff`, `leader` (Lease).
- `config`: settings from the environment; `main`: the `plattr-controller` entry point;
  `errors`: the controller's own errors (`ControllerError` and its subclasses).
- `kinds` (the resources Plattr watches), `runtime` (wires the machinery to the domain;
  `ControllerView` for the web layer).
- `subjects` (what a resource asks for), `reconciler`, `conditions`, `app_config` (Secret
  and ConfigMap contents), `cluster` (the Kubernetes side the reconciler writes), `sweep`
  (preview TTL), `provisioners/` (database, storage, auth behind Protocols), `services`
  (the real ones, from the settings), `metrics`, `logs`.
- `web/`: health, readiness, metrics and the dashboard, served on METRICS_PORT.

See controller/README.md for settings, behaviour and metrics.
"""
