"""Not root, or a missing tool: one line saying what to do, a non-zero exit, nothing created."""
import os
import shutil
import subprocess
import sys

import pytest

from netns import namespaces

pytestmark = pytest.mark.netns  # it needs root to drop to another user


def run_kubelab(args, env_extra=None, as_nobody=False, tmp_path=None):
    env = {**os.environ, "KUBELAB_RUN_DIR": str(tmp_path / "run"), **(env_extra or {})}
    prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if as_nobody else []
    return subprocess.run(prefix + [sys.executable, "-m", "kubelab", *args], env=env, cwd="/",
                          capture_output=True, text=True, timeout=60)


def test_not_root_gets_one_line_and_nothing_is_created(tmp_path):
    before = namespaces.names()
    result = run_kubelab(["--cluster", "pfnobody", "up"], as_nobody=True, tmp_path=tmp_path)
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0
    assert "needs root" in result.stderr and "sudo" in result.stderr
    assert namespaces.names() == before
    assert not os.path.exists(tmp_path / "run")


def test_missing_iptables_says_what_to_install(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    os.symlink(shutil.which("ip"), bin_dir / "ip")  # ip is there, iptables is not
    before = namespaces.names()
    result = run_kubelab(["--cluster", "pfnotools", "up"], env_extra={"PATH": str(bin_dir)}, tmp_path=tmp_path)
    assert result.returncode != 0
    line = result.stderr.strip()
    assert "\n" not in line
    assert "iptables" in line and "not found" in line and "apt-get install" in line
    assert namespaces.names() == before
