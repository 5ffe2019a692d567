from netns.ledger import Ledger, Owned, owned_netns


def test_replay_gives_the_live_set_in_creation_order(tmp_path):
    ledger = Ledger(str(tmp_path / "c"))
    a, b, c = owned_netns("kl-c-a"), Owned("link", "veth1", "kl-c-a"), Owned("file", "/x")
    ledger.record(a, b)
    ledger.record(c)
    ledger.forget(b)
    assert ledger.owned() == [a, c]


def test_recording_again_updates_the_identity(tmp_path):
    ledger = Ledger(str(tmp_path))
    ledger.record(owned_netns("kl-c-a"))
    ledger.record(owned_netns("kl-c-a", 4242))
    assert ledger.of_kind("netns") == [owned_netns("kl-c-a", 4242)]


def test_a_line_torn_by_a_crash_is_skipped(tmp_path):
    ledger = Ledger(str(tmp_path))
    ledger.record(Owned("file", "/a"))
    with open(ledger.path, "a") as f:
        f.write('["+", "file", "/b"')  # killed mid-write
    assert ledger.owned() == [Owned("file", "/a")]


def test_compaction_keeps_only_the_live_set(tmp_path):
    ledger = Ledger(str(tmp_path))
    for i in range(50):
        ledger.record(Owned("file", f"/f{i}"))
        ledger.forget(Owned("file", f"/f{i}"))
    ledger.record(Owned("file", "/kept"))
    ledger.compact()
    assert open(ledger.path).read().count("\n") == 1
    assert ledger.owned() == [Owned("file", "/kept")]


def test_reading_does_not_create_the_run_directory(tmp_path):
    ledger = Ledger(str(tmp_path / "never"))
    assert ledger.owned() == []
    assert not (tmp_path / "never").exists()
