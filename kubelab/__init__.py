"""The thin wiring on top: the kubelab command and the cluster daemon."""
