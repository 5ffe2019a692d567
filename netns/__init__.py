"""Linux plumbing: namespaces, bridges, veths, addresses, routes, sysctls, processes. Knows nothing of Kubernetes."""
