"""Built-in images: tiny local programs that behave like the images of the Kubernetes tutorials.

There is no registry and no pull: an image reference resolves to a command on this host, or fails the way a
missing image fails on a real node (ErrImagePull, then ImagePullBackOff).
"""
from __future__ import annotations

import sys
from dataclasses import dataclass


class ImagePullError(LookupError):
    """The image does not exist here; the message reads like the container runtime's."""


@dataclass(frozen=True)
class Image:
    repository: str
    tags: frozenset[str] | None  # None: any tag
    server: str | None  # a built-in server (kubelab.images.servers); None: the container's command runs on the host
    default_command: tuple[str, ...] = ()
    ports: tuple[int, ...] = ()  # where the built-in server listens


# Repository names are normalised (docker.io/ and library/ dropped) before lookup.
_IMAGES = [
    Image("luksa/kubia", frozenset({"latest"}), "kubia", ports=(8080,)),
    Image("gcr.io/google-samples/kubernetes-bootcamp", frozenset({"v1"}), "bootcamp-v1", ports=(8080,)),
    Image("jocatalin/kubernetes-bootcamp", frozenset({"v1"}), "bootcamp-v1", ports=(8080,)),
    Image("jocatalin/kubernetes-bootcamp", frozenset({"v2"}), "bootcamp-v2", ports=(8080,)),
    Image("nginx", None, "nginx", ports=(80,)),
    Image("daocloud.io/nginx", None, "nginx", ports=(80,)),
    Image("kubelab/echo", None, "echo", ports=(8080,)),
    Image("busybox", None, None, ("sh",)),
]


def normalise(reference: str) -> tuple[str, str]:
    """`docker.io/library/nginx` -> (`nginx`, `latest`); digests are not supported."""
    name, tag = reference, "latest"
    last = reference.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = reference.rsplit(":", 1)
    for prefix in ("docker.io/", "index.docker.io/", "registry-1.docker.io/"):
        if name.startswith(prefix):
            name = name[len(prefix):]
    host, _, rest = name.partition("/")
    if rest.startswith("library/"):
        name = f"{host}/{rest[len('library/'):]}"
    elif host == "library":
        name = rest
    return name, tag


def resolve(reference: str) -> Image:
    name, tag = normalise(reference)
    for image in _IMAGES:
        if image.repository == name and (image.tags is None or tag in image.tags):
            return image
    raise ImagePullError(
        f'Failed to pull image "{reference}": rpc error: code = NotFound desc = failed to pull and unpack image '
        f'"{reference}": failed to resolve reference "{reference}": {reference}: not found')


def known_references() -> list[str]:
    return [f"{i.repository}:{next(iter(sorted(i.tags)))}" if i.tags else i.repository for i in _IMAGES]


def container_argv(container: dict) -> list[str]:
    """The host command for a container spec (image, command, args), as a container runtime would build it.

    `command` replaces the image's entrypoint and `args` its default arguments, as in Kubernetes.
    """
    image = resolve(container.get("image", ""))
    command, args = container.get("command"), container.get("args")
    if command:
        return list(command) + list(args or [])
    if image.server:
        return [sys.executable, "-m", "kubelab.images.servers", image.server] + list(args or [])
    return list(args) if args else list(image.default_command)


def startup_probe(container: dict) -> dict | None:
    """For a built-in server run as its image intends: a TCP check on its port.

    The real images listen within milliseconds of starting; ours need a Python start-up first. The kubelet
    holds such a container un-Ready until it listens (when the pod declares no readinessProbe of its own),
    so a Service never sends it traffic it would refuse.
    """
    if container.get("command"):
        return None
    try:
        image = resolve(container.get("image", ""))
    except ImagePullError:
        return None
    if not image.server or not image.ports:
        return None
    return {"tcpSocket": {"port": image.ports[0]}, "periodSeconds": 0.2, "timeoutSeconds": 1}
