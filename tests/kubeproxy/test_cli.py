"""`kubelab proxy render` prints kube-proxy's rules for a manifest, without root."""
from __future__ import annotations

import os

from click.testing import CliRunner

from kubelab.cli.root import main
import kubelab.cli.proxy  # noqa: F401  (registers `proxy` on the root group)

GOLDEN = os.path.join(os.path.dirname(__file__), "golden")
WEB = """
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  type: NodePort
  clusterIP: 10.96.0.20
  ports: [{port: 80, targetPort: 8080, nodePort: 30080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-abc, namespace: default, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints:
- {addresses: [10.244.0.5], nodeName: node1}
- {addresses: [10.244.1.7], nodeName: node2}
ports: [{port: 8080, protocol: TCP}]
"""


def run(*args, stdin=None):
    return CliRunner().invoke(main, ["proxy", "render", *args], input=stdin)


def test_render_from_stdin_prints_restore_text_for_the_service():
    result = run("-f", "-", "--node", "node1", "--node-ip", "172.18.0.2", stdin=WEB)
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.startswith("*filter\n") and out.rstrip().endswith("COMMIT")
    assert '-A KUBE-SERVICES -m comment --comment "default/web cluster IP" -m tcp -p tcp -d 10.96.0.20 --dport 80' in out
    assert "-A KUBE-NODEPORTS -m comment --comment default/web -m tcp -p tcp --dport 30080 -j KUBE-EXT-" in out
    assert "--probability 0.5000000000" in out
    assert "-j DNAT --to-destination 10.244.0.5:8080" in out and "--to-destination 10.244.1.7:8080" in out
    assert "! -s 10.244.0.0/16 -j KUBE-MARK-MASQ" in out


def test_render_a_directory_with_options():
    result = run("-f", GOLDEN, "--node", "test-node", "--node-ip", "192.168.0.2", "--cluster-cidr", "10.0.0.0/8",
                 "--masquerade-all", "--nodeport-addresses", "192.168.0.0/24")
    assert result.exit_code == 0, result.output
    assert "-d 192.168.0.2 -j KUBE-NODEPORTS" in result.output
    assert "--dport 80 -j KUBE-MARK-MASQ" in result.output  # masquerade-all: no "! -s" detector


def test_missing_file_is_one_line_error():
    result = run("-f", "/nonexistent.yaml", "--node", "n", "--node-ip", "1.2.3.4")
    assert result.exit_code == 1
    assert "no such file" in result.output
