from hypothesis import given, strategies as st
from netaddr import IPAddress, IPNetwork

from netns.ipam import AddressBook, PodAddresses, RangeFull
import pytest

CIDR = IPNetwork("10.244.1.0/28")  # 13 usable: .2 - .14


def test_skips_network_gateway_and_broadcast():
    addresses = PodAddresses(CIDR)
    handed = [addresses.allocate(f"p{i}") for i in range(13)]
    assert handed[0] == IPAddress("10.244.1.2") and handed[-1] == IPAddress("10.244.1.14")
    with pytest.raises(RangeFull):
        addresses.allocate("one-too-many")


def test_released_address_is_not_reused_until_the_range_wraps():
    addresses = PodAddresses(CIDR)
    first = addresses.allocate("a")
    addresses.release(first)
    assert addresses.allocate("b") != first


def test_same_owner_gets_the_same_address():
    addresses = PodAddresses(CIDR)
    assert addresses.allocate("a") == addresses.allocate("a")


def test_state_survives_a_restart(tmp_path):
    path = str(tmp_path / "ipam.json")
    with AddressBook(path, CIDR) as addresses:
        a = addresses.allocate("a")
        b = addresses.allocate("b")
        addresses.release(a)
    with AddressBook(path, CIDR) as addresses:  # a new process reading the file
        c = addresses.allocate("c")
    assert c not in (a, b)
    assert AddressBook(path, CIDR).load().owner_of(b) == "b"


@given(st.lists(st.tuples(st.booleans(), st.integers(0, 20)), max_size=200))
def test_no_address_is_ever_held_by_two_owners(ops):
    addresses = PodAddresses(CIDR)
    held: dict[str, IPAddress] = {}
    for allocate, n in ops:
        owner = f"pod{n}"
        if allocate:
            try:
                held[owner] = addresses.allocate(owner)
            except RangeFull:
                assert len(held) == 13
        elif owner in held:
            addresses.release(held.pop(owner))
        assert len(set(held.values())) == len(held)
        assert all(ip in CIDR and ip not in (CIDR.network, CIDR.broadcast, IPAddress(CIDR.first + 1))
                   for ip in held.values())


def test_concurrent_writers_lose_no_allocation(tmp_path):
    import threading

    path = str(tmp_path / "ipam.json")

    def allocate(prefix):
        for i in range(20):
            with AddressBook(path, IPNetwork("10.244.0.0/24")) as addresses:
                addresses.allocate(f"{prefix}{i}")

    threads = [threading.Thread(target=allocate, args=(p,)) for p in "abcd"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(AddressBook(path, IPNetwork("10.244.0.0/24")).load().allocated) == 80
