"""The rendered text equals what upstream kube-proxy writes for the same objects (upstream's own expected
texts, compared after upstream's test sorting, since upstream walks Go maps in random order)."""
from __future__ import annotations

import os

import pytest
from kp_dump import upstream_sorted

from kubeproxy import manifests, restore
from kubeproxy.config import NodeConfig
from kubeproxy.render import render_objects

GOLDEN = os.path.join(os.path.dirname(__file__), "golden")

# NewFakeProxier in proxier_test.go: pods in 10.0.0.0/8, node 192.168.0.2, nfacct counters present,
# a fake iptables without --random-fully.
UPSTREAM_FAKE = NodeConfig("test-node", ("192.168.0.2",), cluster_cidr="10.0.0.0/8", nfacct=True,
                           random_fully=False)


def rendered(name: str, cfg: NodeConfig = UPSTREAM_FAKE) -> str:
    services, slices = manifests.split(manifests.load(os.path.join(GOLDEN, f"{name}.yaml")))
    text = restore.render_text(render_objects(services, slices, cfg))
    # The fake proxier hard-codes the mark as "0x4000"; real kube-proxy formats it %#08x.
    return text.replace("0x00004000", "0x4000")


def expected(name: str) -> str:
    with open(os.path.join(GOLDEN, f"{name}.expected")) as f:
        return f.read()


@pytest.mark.parametrize("name", ["overall"])
def test_matches_upstream_expected_text(name):
    assert upstream_sorted(rendered(name)) == expected(name)


def test_output_order_is_stable_whatever_the_input_order():
    services, slices = manifests.split(manifests.load(os.path.join(GOLDEN, "overall.yaml")))
    forward = restore.render_text(render_objects(services, slices, UPSTREAM_FAKE))
    backward = restore.render_text(render_objects(services[::-1], slices[::-1], UPSTREAM_FAKE))
    assert forward == backward
