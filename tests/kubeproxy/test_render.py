"""What the renderer decides, stated as behaviour: which services get rules, where traffic goes when
there are no (local) endpoints, which endpoints are used, how names and probabilities look."""
from __future__ import annotations

from kp_dump import parse

from kubeproxy import names, restore
from kubeproxy.config import NodeConfig
from kubeproxy.render import render_objects

CFG = NodeConfig("node1", ("172.18.0.2",), random_fully=False)


def svc(name="web", ports=None, **spec):
    spec.setdefault("clusterIP", "10.96.0.20")
    return {"kind": "Service", "metadata": {"name": name, "namespace": "default"},
            "spec": {"ports": ports or [{"port": 80}], **spec}}


def slice_(endpoints, ports=None, name="web"):
    return {"kind": "EndpointSlice", "addressType": "IPv4",
            "metadata": {"name": f"{name}-1", "namespace": "default",
                         "labels": {"kubernetes.io/service-name": name}},
            "endpoints": endpoints, "ports": ports or [{"port": 8080}]}


def ep(ip, node="node1", **conditions):
    return {"addresses": [ip], "nodeName": node, "conditions": conditions}


def tables(services, slices, cfg=CFG):
    return parse(restore.render_text(render_objects(services, slices, cfg)))


def dnat_targets(t):
    return sorted(r.split("--to-destination ")[1] for c, rules in t["nat"].items() for r in rules
                  if "--to-destination" in r)


def test_headless_and_external_name_services_get_no_rules():
    t = tables([svc(clusterIP="None"), svc("ext", type="ExternalName", externalName="example.com", clusterIP="")],
               [slice_([ep("10.244.0.5")])])
    assert not any(c.startswith("KUBE-SVC") for c in t["nat"]) and t["nat"]["KUBE-SERVICES"][:-1] == []


def test_service_chain_names_hash_port_name_and_protocol():
    t = tables([svc(ports=[{"name": "dns", "port": 53, "protocol": "UDP"}, {"name": "dns-tcp", "port": 53}])],
               [slice_([ep("10.244.0.5")], ports=[{"name": "dns", "port": 53, "protocol": "UDP"},
                                                  {"name": "dns-tcp", "port": 53}])])
    assert "KUBE-SVC-" + names.port_proto_hash("default/web:dns", "udp") in t["nat"]
    assert "KUBE-SVC-" + names.port_proto_hash("default/web:dns-tcp", "tcp") in t["nat"]
    assert dnat_targets(t) == ["10.244.0.5:53", "10.244.0.5:53"]


def test_named_target_ports_use_the_endpoint_slice_port():
    t = tables([svc(ports=[{"name": "http", "port": 80, "targetPort": "web"}, {"name": "metrics", "port": 9090}])],
               [slice_([ep("10.244.0.5")], ports=[{"name": "http", "port": 8080}, {"name": "metrics", "port": 9102}])])
    assert dnat_targets(t) == ["10.244.0.5:8080", "10.244.0.5:9102"]


def test_sctp_services_match_sctp():
    t = tables([svc(ports=[{"port": 9, "protocol": "SCTP"}])], [slice_([ep("10.244.0.5")], [{"port": 9, "protocol": "SCTP"}])])
    assert any("-m sctp -p sctp" in r for r in t["nat"]["KUBE-SERVICES"])


def test_probabilities_split_evenly_with_ten_decimals():
    t = tables([svc()], [slice_([ep(f"10.244.0.{i}") for i in (2, 3, 4)])])
    svc_chain = next(c for c in t["nat"] if c.startswith("KUBE-SVC"))
    probs = [r.split("--probability ")[1].split()[0] for r in t["nat"][svc_chain] if "--probability" in r]
    assert probs == ["0.3333333333", "0.5000000000"]


def test_unready_endpoints_are_skipped_and_terminating_ones_used_only_as_fallback():
    t = tables([svc()], [slice_([ep("10.244.0.5", ready=False), ep("10.244.0.6"),
                                 ep("10.244.0.7", ready=False, serving=True, terminating=True)])])
    assert dnat_targets(t) == ["10.244.0.6:8080"]
    t = tables([svc()], [slice_([ep("10.244.0.5", ready=False, serving=False),
                                 ep("10.244.0.7", ready=False, serving=True, terminating=True)])])
    assert dnat_targets(t) == ["10.244.0.7:8080"]


def test_no_ready_endpoints_rejects_in_filter_table():
    t = tables([svc(type="NodePort", ports=[{"port": 80, "nodePort": 30080}])], [slice_([ep("10.244.0.5", ready=False)])])
    assert any("has no endpoints" in r and r.endswith("-j REJECT") for r in t["filter"]["KUBE-SERVICES"])
    assert any("--dport 30080 -j REJECT" in r for r in t["filter"]["KUBE-EXTERNAL-SERVICES"])
    assert len(t["nat"]["KUBE-SERVICES"]) == 1  # only the jump to KUBE-NODEPORTS


def test_internal_traffic_policy_local_drops_clusterip_traffic_on_nodes_without_a_local_endpoint():
    t = tables([svc(internalTrafficPolicy="Local")], [slice_([ep("10.244.1.5", node="node2")])])
    assert any("has no local endpoints" in r and r.endswith("-j DROP") for r in t["filter"]["KUBE-SERVICES"])
    t = tables([svc(internalTrafficPolicy="Local")], [slice_([ep("10.244.0.5"), ep("10.244.1.5", node="node2")])])
    assert dnat_targets(t) == ["10.244.0.5:8080"]
    assert any(r.split()[-1].startswith("KUBE-SVL-") for r in t["nat"]["KUBE-SERVICES"])


def test_external_traffic_policy_local_routes_outside_traffic_to_local_endpoints_only():
    service = svc(type="NodePort", externalTrafficPolicy="Local", ports=[{"port": 80, "nodePort": 30080}])
    t = tables([service], [slice_([ep("10.244.0.5"), ep("10.244.1.5", node="node2")])])
    svl = next(c for c in t["nat"] if c.startswith("KUBE-SVL"))
    ext = next(c for c in t["nat"] if c.startswith("KUBE-EXT"))
    assert t["nat"][ext][-1].endswith(f"-j {svl}") and len(t["nat"][svl]) == 1
    assert not any("KUBE-MARK-MASQ" in r and "masquerade traffic" in r for r in t["nat"][ext])


def test_source_ranges_send_other_sources_to_the_firewall_drop():
    service = svc(type="LoadBalancer", loadBalancerSourceRanges=["203.0.113.0/25"],
                  ports=[{"port": 80, "nodePort": 30080}])
    service["status"] = {"loadBalancer": {"ingress": [{"ip": "172.18.255.200"}]}}
    t = tables([service], [slice_([ep("10.244.0.5")])])
    fw = next(c for c in t["nat"] if c.startswith("KUBE-FW"))
    assert "-s 203.0.113.0/25" in t["nat"][fw][0]
    assert "-d 172.18.255.200" in t["filter"]["KUBE-PROXY-FIREWALL"][0]


def test_large_clusters_drop_per_endpoint_comments():
    t = tables([svc()], [slice_([ep(f"10.244.{i // 250}.{i % 250 + 1}") for i in range(1001)])])
    sep = next(c for c in t["nat"] if c.startswith("KUBE-SEP"))
    assert "--comment" not in t["nat"][sep][0]


def test_nodeport_addresses_limit_nodeports_to_matching_node_ips():
    cfg = NodeConfig("node1", ("172.18.0.2",), nodeport_addresses=("172.18.0.0/16",))
    t = tables([svc(type="NodePort", ports=[{"port": 80, "nodePort": 30080}])], [slice_([ep("10.244.0.5")])], cfg)
    assert t["nat"]["KUBE-SERVICES"][-1].endswith("-d 172.18.0.2 -j KUBE-NODEPORTS")
    assert "KUBE-FIREWALL" not in t["filter"]  # 127.0.0.1 is not a NodePort address: no localhost guard
