"""Reading what the kernel tools print (no root): xtables-monitor --trace and conntrack -L."""
from kubelab.trace import conntrack
from kubelab.trace.analyze import first_packet, visits
from netns import nftrace

MONITOR = """PACKET: 2 d5a1281a IN=veth1 SRC=10.244.0.5 DST=10.96.0.5 LEN=60 TOS=0x5c TTL=64 ID=31290 DF SPORT=40002 DPORT=80 SYN 
 TRACE: 2 d5a1281a raw:PREROUTING:rule:0x3:CONTINUE  -4 -t raw -A PREROUTING -m dscp --dscp 0x17 -m comment --comment "kubelab-trace x" -j TRACE
 TRACE: 2 d5a1281a raw:PREROUTING:policy:ACCEPT 
PACKET: 2 d5a1281a IN=veth1 SRC=10.244.0.5 DST=10.96.0.5 LEN=60 TOS=0x5c TTL=64 ID=31290 DF SPORT=40002 DPORT=80 SYN 
 TRACE: 2 d5a1281a nat:PREROUTING:rule:0x3:JUMP:KUBE-SERVICES  -4 -t nat -A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
 TRACE: 2 d5a1281a nat:KUBE-SERVICES:rule:0x4:ACCEPT  -4 -t nat -A KUBE-SERVICES -d 10.96.0.5/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.244.1.2:8080
PACKET: 2 c4dd4359 IN=veth1 OUT=eth0 SRC=10.244.0.5 DST=10.244.1.2 LEN=60 TOS=0x5c TTL=63 ID=31290 DF SPORT=40002 DPORT=8080 SYN 
 TRACE: 2 c4dd4359 nat:KUBE-POSTROUTING:rule:0xb:0xfffffffb  -4 -t nat -A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
PACKET: 2 a1 IN=eth0 SRC=10.244.1.2 DST=10.244.0.5 LEN=60 TOS=0x5c TTL=63 ID=31290 DF SPORT=40002 DPORT=8080 SYN 
 TRACE: 2 a1 nat:PREROUTING:rule:0x3:JUMP:KUBE-SERVICES  -4 -t nat -A PREROUTING -j KUBE-SERVICES
PACKET: 2 b2 OUT=lo SRC=127.0.0.1 DST=127.0.0.1 LEN=50 TOS=0x5c TTL=64 ID=999 DF SPORT=5 DPORT=27543 
 TRACE: 2 b2 raw:OUTPUT:policy:ACCEPT 
"""


def test_monitor_output_becomes_blocks_of_events_in_iptables_syntax():
    blocks = nftrace.parse(MONITOR)
    assert [b.fields["DST"] for b in blocks[:3]] == ["10.96.0.5", "10.96.0.5", "10.244.1.2"]
    jump, dnat = blocks[1].events
    assert (jump.table, jump.chain, jump.kind, jump.verdict, jump.target) == (
        "nat", "PREROUTING", "rule", "JUMP", "KUBE-SERVICES")
    assert dnat.rule == ("-A KUBE-SERVICES -d 10.96.0.5/32 -p tcp -m tcp --dport 80 -j DNAT "
                         "--to-destination 10.244.1.2:8080")
    assert blocks[2].events[0].verdict == "RETURN"  # printed as the raw nf_tables code
    assert blocks[0].events[1] == nftrace.TraceEvent("raw", "PREROUTING", "policy", "ACCEPT")


def test_the_traced_packet_is_picked_by_its_ip_id_and_split_into_passes():
    blocks = first_packet(nftrace.parse(MONITOR), 31290)
    assert len(blocks) == 4  # the sentinel (another ID) is left out
    passes = visits(blocks)
    assert [len(p) for p in passes] == [3, 1]  # it came back through PREROUTING


def test_conntrack_lines_give_original_and_reply_tuples():
    entries = conntrack.parse(
        "tcp      6 116 TIME_WAIT src=172.18.0.1 dst=172.18.0.2 sport=40001 dport=30080 src=10.244.1.2 "
        "dst=172.18.0.2 sport=8080 dport=61234 [ASSURED] mark=0 use=1\n"
        "udp      17 29 src=10.244.0.5 dst=10.96.0.10 sport=5353 dport=53 [UNREPLIED] src=10.96.0.10 "
        "dst=10.244.0.5 sport=53 dport=5353 mark=0 use=1\n"
        "conntrack v1.4.7 (conntrack-tools): 2 flow entries have been shown.\n")
    tcp, udp = entries
    assert tcp.state == "TIME_WAIT" and "ASSURED" in tcp.flags
    assert str(tcp.original) == "172.18.0.1:40001 -> 172.18.0.2:30080"
    assert str(tcp.reply) == "10.244.1.2:8080 -> 172.18.0.2:61234"
    assert tcp.dnat and tcp.snat
    assert udp.state == "" and "UNREPLIED" in udp.flags and not udp.dnat and not udp.snat


def test_a_flow_is_followed_from_node_to_node_through_its_translations():
    node1 = conntrack.parse("tcp 6 100 ESTABLISHED src=172.18.0.1 dst=172.18.0.2 sport=40001 dport=30080 "
                            "src=10.244.1.2 dst=172.18.0.2 sport=8080 dport=61234 mark=0 use=1")
    node2 = conntrack.parse("tcp 6 100 ESTABLISHED src=172.18.0.2 dst=10.244.1.2 sport=61234 dport=8080 "
                            "src=10.244.1.2 dst=172.18.0.2 sport=8080 dport=61234 mark=0 use=1")
    chain = conntrack.follow({"n2": node2, "n1": node1}, "172.18.0.1", 40001, "tcp")
    assert [ns for ns, _ in chain] == ["n1", "n2"]
