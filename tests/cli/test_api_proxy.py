"""`kubelab proxy` alone is `kubectl proxy`: the API on a local port without a token."""
import asyncio

from aiohttp import ClientSession, web

from kubelab.apiproxy import make_proxy


async def _through_proxy(unix_path: str, requests: list[tuple[str, str, dict | None]]) -> list[tuple[int, dict]]:
    runner = web.AppRunner(make_proxy(unix_path))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    answers = []
    try:
        async with ClientSession() as session:
            for method, path, body in requests:
                async with session.request(method, f"http://127.0.0.1:{port}{path}", json=body) as response:
                    answers.append((response.status, await response.json()))
    finally:
        await runner.cleanup()
    return answers


def test_the_proxy_passes_reads_writes_and_errors_through(cluster):
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
               "spec": {"ports": [{"port": 80}], "selector": {"app": "web"}}}
    (version, created, missing) = asyncio.run(_through_proxy(cluster.unix_path, [
        ("GET", "/version", None),
        ("POST", "/api/v1/namespaces/default/services", service),
        ("GET", "/api/v1/namespaces/default/services/nope", None),
    ]))
    assert version[0] == 200 and "gitVersion" in version[1]
    assert created[0] == 201 and created[1]["spec"]["clusterIP"].startswith("10.96.")
    assert missing == (404, missing[1]) and missing[1]["reason"] == "NotFound"
    assert cluster.registry.get("Service", "web", "default")
