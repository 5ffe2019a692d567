"""The kubelet: Pod objects bound to a node -> sandboxes, container processes, probes, status."""
