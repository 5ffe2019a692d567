"""`kubelab proxy explain`: a packet through rendered or saved rules, without root."""
import json

from click.testing import CliRunner

from kubelab.cli.root import main
import kubelab.cli.inspect  # noqa: F401  (registers `proxy explain`)
from rules import SAVED, WEB

NODE = ["--node", "node1", "--node-ip", "172.18.0.2"]


def run(*args, stdin=None):
    return CliRunner().invoke(main, ["proxy", "explain", *args], input=stdin)


def test_text_lists_endpoints_with_shares_then_the_rules():
    result = run("-f", "-", *NODE, "--src", "10.244.0.20", "--to", "10.96.0.20:80", stdin=WEB)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "tcp 10.244.0.20 -> 10.96.0.20:80, from a pod, on node node1"
    shares = [line for line in lines if "25%  to 10.244." in line]
    assert len(shares) == 4 and all("(not masqueraded)" in line for line in shares)
    assert '-A KUBE-SERVICES -m comment --comment "default/web cluster IP"' in result.output


def test_json_from_a_saved_ruleset_shows_masquerade_for_outside_traffic(tmp_path):
    saved = tmp_path / "node1.rules"
    saved.write_text(SAVED)
    result = run("--iptables-save", str(saved), "--node-ip", "172.18.0.2", "--from", "outside",
                 "--src", "192.168.1.9", "--to", "10.96.0.20:80", "-o", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert [(r["destination"], r["fraction"], r["masqueraded"]) for r in doc["results"]] == [
        ("10.244.0.5:8080", "1/2", True), ("10.244.1.7:8080", "1/2", True)]
    assert doc["results"][0]["chains"] == ["KUBE-SVC-WEB", "KUBE-SEP-AAA"]


def test_rejected_packet_names_the_rule():
    result = run("-f", "-", *NODE, "--from", "node", "--to", "10.96.0.30:80", stdin=WEB)
    assert result.exit_code == 0, result.output
    assert 'rejected by: -A KUBE-SERVICES -m comment --comment "default/empty has no endpoints"' in result.output


def test_needs_exactly_one_ruleset_and_a_source():
    assert "either -f" in run("--to", "10.96.0.20:80").output
    assert "--src is needed" in run("-f", "-", *NODE, "--to", "10.96.0.20:80", stdin=WEB).output
    assert "HOST:PORT" in run("-f", "-", *NODE, "--src", "1.2.3.4", "--to", "10.96.0.20", stdin=WEB).output
