"""What the controller creates outside the cluster, each behind a small interface."""
