"""The cluster daemon: one per cluster, hosting the API server, the controllers, and per node a kubelet
and a kube-proxy loop, all driven by the store's watch."""
