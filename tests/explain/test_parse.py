"""iptables-save and iptables-restore text read into rules whose matches are data."""
import pytest

from kubeproxy.explain.parse import Cond, ParseError, parse
from rules import SAVED


def rule(tables, table, chain, index=0):
    return tables.chain(table, chain)[index]


def test_negated_source_and_destination_with_ports_become_conditions():
    r = rule(parse(SAVED), "nat", "KUBE-SVC-WEB")
    assert r.conds == (Cond("src", "10.244.0.0/16", True), Cond("dst", "10.96.0.20/32"), Cond("proto", "tcp"),
                       Cond("dport", "80"))
    assert r.comment == "default/web cluster IP"
    assert r.target == "KUBE-MARK-MASQ" and not r.goto


def test_counters_are_kept_and_the_rule_text_is_as_saved():
    r = rule(parse(SAVED), "nat", "KUBE-SVC-WEB", 1)
    assert r.counters == (4, 240)
    assert r.text == ('-A KUBE-SVC-WEB -m comment --comment "default/web -> 10.244.0.5:8080" -m statistic '
                      '--mode random --probability 0.50000000000 -j KUBE-SEP-AAA')
    assert Cond("probability", "0.50000000000") in r.conds


def test_target_options_are_read():
    tables = parse(SAVED)
    dnat = rule(tables, "nat", "KUBE-SEP-AAA", 1)
    assert dnat.target == "DNAT" and dnat.arg("--to-destination") == "10.244.0.5:8080"
    assert rule(tables, "nat", "KUBE-MARK-MASQ").arg("--set-xmark") == "0x4000/0x4000"
    reject = rule(tables, "filter", "KUBE-SERVICES")
    assert reject.target == "REJECT" and reject.arg("--reject-with") == "icmp-port-unreachable"


def test_mark_conntrack_addrtype_and_affinity_matches():
    tables = parse("""*nat
:KUBE-X - [0:0]
-A KUBE-X -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-X -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP
-A KUBE-X -m addrtype --dst-type LOCAL -j ACCEPT
-A KUBE-X -m recent --name KUBE-SEP-A --rcheck --seconds 10800 --reap -j KUBE-SEP-A
-A KUBE-X -m recent --name KUBE-SEP-A --set -m tcp -p tcp -j DNAT --to-destination 10.0.0.1:80
-A KUBE-X -m physdev --physdev-is-bridged -j ACCEPT
COMMIT
""")
    conds = [r.conds for r in tables.chain("nat", "KUBE-X")]
    assert conds[0] == (Cond("mark", "0x4000/0x4000", True),)
    assert conds[1] == (Cond("ctstate", "RELATED,ESTABLISHED,DNAT", True),)
    assert conds[2] == (Cond("dst-type", "LOCAL"),)
    assert conds[3] == (Cond("recent", ""),)
    assert conds[4] == (Cond("proto", "tcp"),)  # --set records, it does not test
    assert conds[5] == (Cond("unmodelled", "-m physdev --physdev-is-bridged"),)


def test_restore_input_inserts_and_creates_builtin_chains():
    tables = parse("""*nat
:KUBE-SERVICES - [0:0]
-A PREROUTING -j ACCEPT
-I PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-I PREROUTING 2 -j RETURN
COMMIT
""")
    assert [r.text for r in tables.chain("nat", "PREROUTING")] == [
        '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
        "-A PREROUTING -j RETURN", "-A PREROUTING -j ACCEPT"]


def test_policies_are_read():
    tables = parse(SAVED.replace(":FORWARD ACCEPT", ":FORWARD DROP"))
    assert tables.policy("filter", "FORWARD") == "DROP"
    assert tables.policy("filter", "INPUT") == "ACCEPT"
    assert tables.policy("nat", "KUBE-SERVICES") == "ACCEPT"  # user chains have none; they return



def test_a_rule_without_target_only_counts():
    r = rule(parse('*nat\n:KUBE-FW-X - [0:0]\n-A KUBE-FW-X -m comment --comment "other traffic"\nCOMMIT\n'),
             "nat", "KUBE-FW-X")
    assert r.target is None and r.comment == "other traffic"


@pytest.mark.parametrize("text, where", [
    ("-A INPUT -j ACCEPT\n", "line 1"),
    ("*nat\n-A KUBE-X -m\n", "line 2"),
    ("*nat\n-A KUBE-X -j DNAT garbage\n", "line 2"),
    ("*nat\n-Z KUBE-X\n", "line 2"),
])
def test_bad_lines_are_reported_with_their_number(text, where):
    with pytest.raises(ParseError, match=where):
        parse(text)
