"""Helpers for kube-proxy's real-packet tests (an echo server that reports who it saw)."""
