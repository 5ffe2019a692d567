"""`python -m kubelab.daemon CLUSTER [--run-base DIR]`: the cluster daemon (started by `kubelab up`)."""
from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from kubelab.daemon import supervisor
from kubelab.daemon.api import start_api
from kubelab.daemon.runtime import ClusterRuntime
from netns.cluster import Lab


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="kubelab-daemon")
    parser.add_argument("cluster")
    parser.add_argument("--run-base", default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(threadName)s %(levelname)s %(message)s",
                        stream=sys.stdout)
    lab = Lab(args.cluster, run_base=args.run_base)
    runtime = ClusterRuntime(lab)
    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.set())
    runtime.start()
    server = start_api(lab, runtime)
    supervisor.mark_ready(lab)
    logging.info("cluster %s: daemon ready (%d nodes), API on %s and https://127.0.0.1:%s", lab.name,
                 len(runtime.spec.nodes), server.listening.unix_path, server.tcp_port)
    stopping.wait()
    logging.info("cluster %s: daemon stopping", lab.name)
    supervisor.clear_ready(lab)
    server.stop()
    runtime.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
