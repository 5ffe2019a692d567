"""kubectl's verbs, as `kubelab X` for every `kubectl X` the tutorials use, talking to the cluster's API server.

apply, create, run, expose, get, describe, delete, scale, set image, rollout, label, logs, cluster-info and
kubeconfig. Output follows kubectl's: the same tables (rendered by the server as meta.k8s.io Tables, as
kubectl asks for them), the same `kind.group/name verb` lines, the same error lines and exit code 1.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import sys

import click

from controlplane.apiserver.kubeconfig import kubeconfig as render_kubeconfig
from controlplane.apiserver.patch import merge_key, strategic_merge_patch
from controlplane.apiserver.resources import Resource, by_kind, resolve
from controlplane.objects import load_yaml
from kubelab import endpoints
from kubelab.cli.root import KubelabError, main
from kubelab.client import (JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, ApiError, Client, Unreachable)
from kubelab.printers import describe as describers
from kubelab.printers.output import as_list, qualified_kind, to_json, to_name, to_yaml
from kubelab.printers.table import TableOptions, format_table, table_rows, tabwrite
from kubelab.printers.templates import TemplateError, go_template, jsonpath

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
REVISION = "deployment.kubernetes.io/revision"
CHANGE_CAUSE = "kubernetes.io/change-cause"
# Annotations a rollback does not copy from the ReplicaSet back to the Deployment (kubectl's
# annotationsToSkip in polymorphichelpers/rollback.go).
_ROLLBACK_SKIP = {LAST_APPLIED, REVISION, "deployment.kubernetes.io/revision-history",
                  "deployment.kubernetes.io/desired-replicas", "deployment.kubernetes.io/max-replicas",
                  "deprecated.deployment.rollback.to"}


# ---------------------------------------------------------------------------------------------- plumbing


class CommandFailed(Exception):
    """An error already in kubectl's words (printed as is, exit code 1)."""


def kubectl_errors(command):
    """Print API and connection failures as kubectl does, exit 1."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except ApiError as exc:
            _die(server_error_text(exc.status))
        except CommandFailed as exc:
            _die(str(exc))
        except Unreachable as exc:
            _die(f"error: cannot reach the kubelab API server ({exc}); is the cluster up?")
        except TemplateError as exc:
            _die(f"error: {exc}")

    return wrapper


def _die(text: str) -> None:
    click.echo(text.rstrip("\n"), err=True)
    sys.exit(1)


def server_error_text(status: dict) -> str:
    """cmdutil.CheckErr's wording: `Error from server (NotFound): ...`, or the Invalid form with its causes."""
    reason, message = status.get("reason", ""), status.get("message", "")
    details = status.get("details") or {}
    if reason == "Invalid":
        head = f'The {details.get("kind", "")} "{details.get("name", "")}" is invalid'
        causes = list(dict.fromkeys(f'{c.get("field", "")}: {c.get("message", "")}' for c in details.get("causes") or []))
        if len(causes) == 1:
            return f"{head}: {causes[0]}"
        if causes:
            return f"{head}: \n" + "".join(f"* {c}\n" for c in causes)
        return head
    if reason:
        return f"Error from server ({reason}): {message}"
    return f"Error from server: {message}"


def client_of(ctx: click.Context) -> Client:
    return Client(endpoints.locate(ctx.find_root().obj))


def namespace_option(command):
    command = click.option("-n", "--namespace", default=None, help="Namespace (default: default).")(command)
    return command


def _ns(namespace: str | None) -> str:
    return namespace or "default"


def resource_for(word: str) -> Resource:
    found = resolve(word)
    if not found:
        raise CommandFailed(f'error: the server doesn\'t have a resource type "{word}"')
    return found[0]


def split_targets(args: tuple[str, ...]) -> list[tuple[Resource, str | None]]:
    """`svc web`, `svc/web deploy/web`, `svc,deploy`, `deployments`: (resource, name or None) pairs."""
    if not args:
        raise CommandFailed("error: you must specify the type of resource to get")
    if "/" in args[0]:
        pairs = []
        for arg in args:
            if "/" not in arg:
                raise CommandFailed("error: there is no need to specify a resource type as a separate argument "
                                    "when passing arguments in resource/name form (e.g. 'kubectl get "
                                    "resource/<resource_name>' instead of 'kubectl get resource "
                                    "resource/<resource_name>'")
            kind, _, name = arg.partition("/")
            pairs.append((resource_for(kind), name))
        return pairs
    resources = [r for word in args[0].split(",") for r in _expand(word)]
    if len(args) == 1:
        return [(r, None) for r in resources]
    return [(r, name) for r in resources for name in args[1:]]


def _expand(word: str) -> list[Resource]:
    if word.lower() == "all":
        return resolve("all")
    return [resource_for(word)]


def kind_name(obj: dict) -> str:
    """`deployment.apps/web`: what apply, create, scale ... print before their verb."""
    return f"{qualified_kind(obj['kind'])}/{obj['metadata']['name']}"


def read_manifests(path: str) -> list[tuple[str, dict]]:
    """(source file, object) for FILE, every .yaml/.yml/.json in DIR, or - for stdin."""
    if path == "-":
        return [("STDIN", obj) for obj in load_yaml(sys.stdin.read())]
    if os.path.isdir(path):
        files = sorted(os.path.join(path, f) for f in os.listdir(path) if f.endswith((".yaml", ".yml", ".json")))
    elif os.path.exists(path):
        files = [path]
    else:
        raise CommandFailed(f'error: the path "{path}" does not exist')
    out = []
    for file in files:
        with open(file) as handle:
            out += [(file, obj) for obj in load_yaml(handle.read())]
    return out


def manifest_resource(obj: dict, source: str) -> Resource:
    resource = by_kind(obj.get("kind", ""))
    if resource is None or obj.get("apiVersion") != resource.info.api_version:
        meta = obj.get("metadata") or {}
        raise CommandFailed(f'error: resource mapping not found for name: "{meta.get("name", "")}" namespace: '
                            f'"{meta.get("namespace", "")}" from "{source}": no matches for kind '
                            f'"{obj.get("kind", "")}" in version "{obj.get("apiVersion", "")}"\n'
                            f"ensure CRDs are installed first")
    return resource


# ---------------------------------------------------------------------------------------------- apply


@main.command()
@click.option("-f", "--filename", "path", required=True, help="File, directory of manifests, or - for stdin.")
@namespace_option
@click.pass_context
@kubectl_errors
def apply(ctx: click.Context, path: str, namespace: str | None) -> None:
    """Create or update objects from manifests (prints created, configured or unchanged)."""
    client = client_of(ctx)
    failed = False
    for source, obj in read_manifests(path):
        resource = manifest_resource(obj, source)
        try:
            click.echo(f"{kind_name(obj)} {apply_one(client, resource, obj, namespace)}")
        except ApiError as exc:
            failed = True
            click.echo(server_error_text(exc.status), err=True)
    if failed:
        sys.exit(1)


def apply_one(client: Client, resource: Resource, manifest: dict, namespace: str | None) -> str:
    """Client-side apply: create, or a three-way strategic merge patch against the last applied manifest."""
    desired = _with_last_applied(manifest)
    meta = desired["metadata"]
    ns = meta.get("namespace") or _ns(namespace)
    try:
        current = client.get(resource, ns, meta["name"])
    except ApiError as exc:
        if exc.code != 404:
            raise
        client.create(resource, ns, desired)
        return "created"
    last = json.loads(((current.get("metadata") or {}).get("annotations") or {}).get(LAST_APPLIED) or "{}")
    patch = _three_way(last, desired, f"{resource.kind}Root")
    if strategic_merge_patch(current, patch, resource.kind) == current:
        return "unchanged"
    client.patch(resource, ns, meta["name"], patch, STRATEGIC_MERGE_PATCH)
    return "configured"


def _with_last_applied(manifest: dict) -> dict:
    desired = copy.deepcopy(manifest)
    annotations = desired.setdefault("metadata", {}).setdefault("annotations", {}) or {}
    annotations.pop(LAST_APPLIED, None)
    recorded = copy.deepcopy(desired)
    if not recorded["metadata"]["annotations"]:
        del recorded["metadata"]["annotations"]
    annotations[LAST_APPLIED] = json.dumps(recorded, sort_keys=True, separators=(",", ":")) + "\n"
    desired["metadata"]["annotations"] = annotations
    return desired


def _three_way(last: dict, desired: dict, parent: str) -> dict:
    """The desired manifest as a patch, plus deletions of what the last apply set and this one dropped."""
    patch = copy.deepcopy(desired)
    for key, old in last.items():
        if key not in desired:
            patch[key] = None
        elif isinstance(old, dict) and isinstance(desired[key], dict):
            context = "ServiceSpec" if (parent, key) == ("ServiceRoot", "spec") else key
            patch[key] = _three_way(old, desired[key], context)
        elif isinstance(old, list) and isinstance(desired[key], list):
            key_name = merge_key(key, parent)
            if key_name:
                kept = {item.get(key_name) for item in desired[key] if isinstance(item, dict)}
                patch[key] += [{key_name: item[key_name], "$patch": "delete"} for item in old
                               if isinstance(item, dict) and item.get(key_name) not in kept]
    return patch


# ---------------------------------------------------------------------------------------------- create, run, expose


@main.group(invoke_without_command=True)
@click.option("-f", "--filename", "path", default=None, help="File, directory of manifests, or - for stdin.")
@namespace_option
@click.pass_context
@kubectl_errors
def create(ctx: click.Context, path: str | None, namespace: str | None) -> None:
    """Create objects from manifests, or one of the kinds below."""
    if ctx.invoked_subcommand:
        return
    if not path:
        raise CommandFailed("error: must specify one of -f and -k")
    client = client_of(ctx)
    for source, obj in read_manifests(path):
        resource = manifest_resource(obj, source)
        ns = (obj.get("metadata") or {}).get("namespace") or _ns(namespace)
        created = client.create(resource, ns, obj)
        click.echo(f"{kind_name(created)} created")


@create.command("deployment")
@click.argument("name")
@click.option("--image", "images", multiple=True, required=True, help="Container image (repeatable).")
@click.option("--replicas", type=int, default=1, show_default=True)
@click.option("--port", type=int, default=None, help="The container port to expose.")
@namespace_option
@click.pass_context
@kubectl_errors
def create_deployment(ctx: click.Context, name: str, images: tuple[str, ...], replicas: int, port: int | None,
                      namespace: str | None) -> None:
    """Create a Deployment NAME running IMAGE (labels app=NAME)."""
    labels = {"app": name}
    containers = [_container(cname, image, port) for cname, image in zip(container_names(images), images)]
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {"replicas": replicas, "selector": {"matchLabels": labels}, "strategy": {},
                 "template": {"metadata": {"labels": labels}, "spec": {"containers": containers}}},
    }
    created = client_of(ctx).create(by_kind("Deployment"), _ns(namespace), deployment)
    click.echo(f"{kind_name(created)} created")


def container_names(images: tuple[str, ...]) -> list[str]:
    """kubectl create deployment: the image's last path element without tag or digest, made unique."""
    names: list[str] = []
    for image in images:
        base = image.rsplit("/", 1)[-1].split("@")[0].split(":")[0].replace("_", "-")
        name, suffix = base, 1
        while name in names:
            suffix += 1
            name = f"{base}-{suffix}"
        names.append(name)
    return names


def _container(name: str, image: str, port: int | None) -> dict:
    container = {"name": name, "image": image, "resources": {}}
    if port:
        container["ports"] = [{"containerPort": port}]
    return container


@main.command()
@click.argument("name")
@click.option("--image", required=True)
@click.option("--port", type=int, default=None, help="The port the container exposes.")
@click.option("-l", "--labels", default=None, help="Labels, e.g. app=web,tier=front (default run=NAME).")
@click.option("--generator", default=None, help="run/v1 makes a ReplicationController (old kubectl's behaviour).")
@click.option("--replicas", type=int, default=1, help="Replicas, with --generator=run/v1.")
@namespace_option
@click.pass_context
@kubectl_errors
def run(ctx: click.Context, name: str, image: str, port: int | None, labels: str | None, generator: str | None,
        replicas: int, namespace: str | None) -> None:
    """Run IMAGE in a pod NAME (or, with --generator=run/v1, under a ReplicationController NAME)."""
    pod_labels = _parse_labels(labels) if labels else {"run": name}
    pod_spec = {"containers": [_container(name, image, port)]}
    if generator in (None, "run-pod/v1"):
        obj = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": pod_labels}, "spec": pod_spec}
    elif generator == "run/v1":
        obj = {"apiVersion": "v1", "kind": "ReplicationController",
               "metadata": {"name": name, "labels": pod_labels},
               "spec": {"replicas": replicas, "selector": pod_labels,
                        "template": {"metadata": {"labels": pod_labels}, "spec": pod_spec}}}
    else:
        raise CommandFailed(f'error: generator "{generator}" not found; use run-pod/v1 or run/v1')
    created = client_of(ctx).create(by_kind(obj["kind"]), _ns(namespace), obj)
    click.echo(f"{kind_name(created)} created")


def _parse_labels(text: str) -> dict:
    labels = {}
    for pair in filter(None, text.split(",")):
        key, sep, value = pair.partition("=")
        if not sep:
            raise CommandFailed(f"error: invalid label spec: {pair}")
        labels[key] = value
    return labels


@main.command()
@click.argument("args", nargs=-1, required=True)
@click.option("--port", default=None, help="The port the service serves on (default: the object's port).")
@click.option("--target-port", default=None, help="Port (number or name) on the pods (default: --port).")
@click.option("--type", "service_type", default=None, help="ClusterIP, NodePort, LoadBalancer or ExternalName.")
@click.option("--name", default=None, help="The service's name (default: the object's).")
@click.option("--protocol", default=None, help="TCP, UDP or SCTP (default: the object's, else TCP).")
@click.option("--selector", default=None, help="Selector to use instead of the object's.")
@namespace_option
@click.pass_context
@kubectl_errors
def expose(ctx: click.Context, args: tuple[str, ...], port: str | None, target_port: str | None,
           service_type: str | None, name: str | None, protocol: str | None, selector: str | None,
           namespace: str | None) -> None:
    """Expose a deployment, rc, rs, pod or service as a new Service (selector and ports from the object)."""
    client = client_of(ctx)
    targets = split_targets(args)
    if len(targets) != 1 or targets[0][1] is None:
        raise CommandFailed("error: exactly one resource and name must be given, e.g. deployment/web")
    resource, obj_name = targets[0]
    if resource.kind not in ("Deployment", "ReplicaSet", "ReplicationController", "Pod", "Service"):
        raise CommandFailed(f'error: cannot expose a {resource.kind}')
    obj = client.get(resource, _ns(namespace), obj_name)
    service = build_service(obj, port, target_port, service_type, name, protocol,
                            _parse_labels(selector) if selector else None)
    created = client.create(by_kind("Service"), _ns(namespace), service)
    click.echo(f"{kind_name(created)} exposed")


def build_service(obj: dict, port: str | None, target_port: str | None, service_type: str | None,
                  name: str | None, protocol: str | None, selector: dict | None) -> dict:
    """The Service `kubectl expose` generates (generate/versioned/service.go)."""
    selector = selector if selector is not None else selector_for(obj)
    known = ports_of(obj)
    numbers = [int(p) for p in port.split(",")] if port else [p for p, _ in known]
    if not numbers:
        raise CommandFailed("error: couldn't find port via --port flag or introspection")
    protocols = {p: proto for p, proto in known}
    ports = []
    for index, number in enumerate(numbers):
        entry = {"port": number, "protocol": protocol or protocols.get(number, "TCP")}
        if len(numbers) > 1:
            entry["name"] = f"port-{index + 1}"
        entry["targetPort"] = _int_or_name(target_port) if target_port else number
        ports.append(entry)
    spec = {"ports": ports, "selector": selector}
    if service_type:
        spec["type"] = service_type
    labels = (obj.get("metadata") or {}).get("labels")
    metadata = {"name": name or obj["metadata"]["name"]}
    if labels:
        metadata["labels"] = labels
    return {"apiVersion": "v1", "kind": "Service", "metadata": metadata, "spec": spec}


def selector_for(obj: dict) -> dict:
    kind, spec = obj["kind"], obj.get("spec") or {}
    if kind == "Pod":
        selector = (obj.get("metadata") or {}).get("labels") or {}
    elif kind in ("ReplicationController", "Service"):
        selector = spec.get("selector") or {}
    else:
        label_selector = spec.get("selector") or {}
        if label_selector.get("matchExpressions"):
            raise CommandFailed("error: couldn't retrieve selectors via --selector flag or introspection: the "
                                "provided selector contained matchExpressions; use --selector")
        selector = label_selector.get("matchLabels") or {}
    if not selector:
        raise CommandFailed("error: couldn't retrieve selectors via --selector flag or introspection")
    return dict(selector)


def ports_of(obj: dict) -> list[tuple[int, str]]:
    """(port, protocol) of a pod template's containers, or of a Service (polymorphichelpers.PortsForObject)."""
    spec = obj.get("spec") or {}
    if obj["kind"] == "Service":
        return [(p["port"], p.get("protocol", "TCP")) for p in spec.get("ports") or []]
    pod_spec = spec if obj["kind"] == "Pod" else ((spec.get("template") or {}).get("spec") or {})
    return [(p["containerPort"], p.get("protocol", "TCP"))
            for c in pod_spec.get("containers") or [] for p in c.get("ports") or []]


def _int_or_name(text: str) -> int | str:
    return int(text) if text.isdigit() else text


# ---------------------------------------------------------------------------------------------- get


@main.command()
@click.argument("args", nargs=-1)
@click.option("-o", "--output", default="", help="wide, json, yaml, name, jsonpath=..., go-template=...")
@namespace_option
@click.option("-A", "--all-namespaces", is_flag=True)
@click.option("-l", "--selector", default=None, help="Label selector, e.g. app=web,tier!=db")
@click.option("--field-selector", default=None)
@click.option("-w", "--watch", is_flag=True, help="After listing, print changes as they happen.")
@click.option("--show-labels", is_flag=True)
@click.option("--no-headers", is_flag=True)
@click.pass_context
@kubectl_errors
def get(ctx: click.Context, args: tuple[str, ...], output: str, namespace: str | None, all_namespaces: bool,
        selector: str | None, field_selector: str | None, watch: bool, show_labels: bool, no_headers: bool) -> None:
    """Display one or many resources."""
    client = client_of(ctx)
    targets = split_targets(args)
    ns = None if all_namespaces else _ns(namespace)
    several_kinds = len({r.name for r, _ in targets}) > 1 or args[0].lower() == "all" or "/" in args[0]
    if output in ("", "wide"):
        options = TableOptions(wide=output == "wide", with_namespace=all_namespaces, show_labels=show_labels,
                               no_headers=no_headers)
        failures = _print_tables(client, targets, ns, options, several_kinds, selector, field_selector)
        if watch and not failures:
            _watch_rows(client, targets[0][0], ns, options, selector, field_selector)
    else:
        failures = _print_objects(client, targets, ns, output, selector, field_selector, watch)
    for failure in failures:
        click.echo(failure, err=True)
    if failures:
        sys.exit(1)


def _print_tables(client: Client, targets, ns, options: TableOptions, several_kinds: bool, selector, field_selector):
    failures, printed = [], 0
    by_resource: dict[str, list] = {}
    for resource, name in targets:
        by_resource.setdefault(resource.name, []).append((resource, name))
    for group in by_resource.values():
        resource = group[0][0]
        tables = []
        for _, name in group:
            try:
                tables.append(client.table(resource, ns, name or "", selector, field_selector))
            except ApiError as exc:
                failures.append(server_error_text(exc.status))
        rows = [row for table in tables for row in table.get("rows") or []]
        if not rows:
            continue
        options.kind_prefix = qualified_kind(resource.kind) if several_kinds else ""
        merged = {"columnDefinitions": tables[0]["columnDefinitions"], "rows": rows}
        click.echo(("\n" if printed else "") + format_table(merged, options), nl=False)
        printed += 1
    if not printed and not failures:
        scoped = all(r.namespaced for r, _ in targets)
        where = f" in {ns} namespace" if ns and scoped else ""
        click.echo(f"No resources found{where}.", err=True)
    return failures


def _watch_rows(client: Client, resource: Resource, ns, options: TableOptions, selector, field_selector) -> None:
    """kubectl get -w: each change as one more row, laid out on its own (no header)."""
    start = client.table(resource, ns, "", selector, field_selector)["metadata"]["resourceVersion"]
    row_options = TableOptions(**{**options.__dict__, "no_headers": True})
    for event in client.watch(resource, ns, start, table=True, label_selector=selector, field_selector=field_selector):
        if event.get("type") == "ERROR":
            raise ApiError(event.get("object") or {})
        rows = table_rows(event["object"], row_options)
        click.echo(tabwrite(rows), nl=False)


def _print_objects(client: Client, targets, ns, output: str, selector, field_selector, watch: bool):
    failures, objects, listed = [], [], False
    for resource, name in targets:
        try:
            if name:
                objects.append(client.get(resource, ns or "default", name))
            else:
                listed = True
                objects += _with_kind(client.list(resource, ns, selector, field_selector), resource)
        except ApiError as exc:
            failures.append(server_error_text(exc.status))
    if objects or listed:
        document = objects[0] if len(objects) == 1 and not listed else as_list(objects)
        click.echo(render(document, output), nl=False)
    if watch and not failures:
        resource = targets[0][0]
        start = client.list(resource, ns, selector, field_selector)["metadata"]["resourceVersion"]
        for event in client.watch(resource, ns, start, label_selector=selector, field_selector=field_selector):
            click.echo(render(event["object"], output), nl=False)
    return failures


def _with_kind(listing: dict, resource: Resource) -> list[dict]:
    items = listing.get("items") or []
    for item in items:
        item.setdefault("kind", resource.kind)
        item.setdefault("apiVersion", resource.info.api_version)
    return items


def render(document: dict, output: str) -> str:
    if output == "json":
        return to_json(document)
    if output == "yaml":
        return to_yaml(document)
    if output == "name":
        items = document["items"] if document.get("kind") == "List" else [document]
        return "".join(to_name(item) for item in items)
    kind, _, template = output.partition("=")
    if kind == "jsonpath":
        return jsonpath(template, document)
    if kind in ("go-template", "template"):
        return go_template(template, document)
    raise CommandFailed(f'error: unable to match a printer suitable for the output format "{output}", allowed '
                        f"formats are: go-template,json,jsonpath,name,wide,yaml")


# ---------------------------------------------------------------------------------------------- describe


@main.command()
@click.argument("args", nargs=-1, required=True)
@namespace_option
@click.option("-l", "--selector", default=None)
@click.pass_context
@kubectl_errors
def describe(ctx: click.Context, args: tuple[str, ...], namespace: str | None, selector: str | None) -> None:
    """Show details of a resource or group of resources."""
    client = client_of(ctx)
    ns = _ns(namespace)
    objects = []
    for resource, name in split_targets(args):
        if name:
            objects.append(client.get(resource, ns, name))
        else:
            objects += _with_kind(client.list(resource, ns, selector), resource)
    if not objects:
        click.echo(f"No resources found in {ns} namespace.", err=True)
        return
    texts = [describers.describe(client, obj) for obj in objects]
    click.echo("\n\n".join(texts), nl=False)


# ---------------------------------------------------------------------------------------------- delete


@main.command()
@click.argument("args", nargs=-1)
@click.option("-f", "--filename", "path", default=None)
@click.option("-l", "--selector", default=None)
@click.option("--cascade", default="background", help="background, foreground or orphan (false = orphan).")
@namespace_option
@click.pass_context
@kubectl_errors
def delete(ctx: click.Context, args: tuple[str, ...], path: str | None, selector: str | None, cascade: str,
           namespace: str | None) -> None:
    """Delete resources by name, by manifest (-f) or by label selector (-l)."""
    client = client_of(ctx)
    policy = {"background": "Background", "true": "Background", "foreground": "Foreground",
              "orphan": "Orphan", "false": "Orphan"}.get(cascade.lower())
    if policy is None:
        raise CommandFailed(f'error: invalid cascade value ({cascade}). Must be "background", "foreground", or "orphan".')
    ns = _ns(namespace)
    doomed = _deletion_targets(client, args, path, selector, ns)
    failures = []
    for resource, target_ns, name in doomed:
        try:
            client.delete(resource, target_ns, name, policy)
            singular = qualified_kind(resource.kind)
            click.echo(f'{singular} "{name}" deleted')
        except ApiError as exc:
            failures.append(server_error_text(exc.status))
    if not doomed and not failures:
        click.echo("No resources found", err=True)
    for failure in failures:
        click.echo(failure, err=True)
    if failures:
        sys.exit(1)


def _deletion_targets(client: Client, args, path, selector, ns) -> list[tuple[Resource, str, str]]:
    if path:
        return [(manifest_resource(obj, source), (obj.get("metadata") or {}).get("namespace") or ns,
                 obj["metadata"]["name"]) for source, obj in read_manifests(path)]
    targets = split_targets(args)
    if selector:
        return [(resource, ns, item["metadata"]["name"]) for resource, _ in targets
                for item in client.list(resource, ns, selector).get("items") or []]
    if any(name is None for _, name in targets):
        raise CommandFailed("error: resource(s) were provided, but no name was specified")
    return [(resource, ns, name) for resource, name in targets]


# ---------------------------------------------------------------------------------------------- scale, set, label


def one_target(args: tuple[str, ...]) -> tuple[Resource, str]:
    targets = split_targets(args)
    if len(targets) != 1 or not targets[0][1]:
        raise CommandFailed("error: one resource and name are needed, e.g. deployment/web or deployment web")
    return targets[0]


@main.command()
@click.argument("args", nargs=-1, required=True)
@click.option("--replicas", type=int, required=True)
@namespace_option
@click.pass_context
@kubectl_errors
def scale(ctx: click.Context, args: tuple[str, ...], replicas: int, namespace: str | None) -> None:
    """Set the number of replicas of a Deployment, ReplicaSet or ReplicationController."""
    resource, name = one_target(args)
    if "scale" not in resource.subresources:
        raise CommandFailed(f"error: cannot scale a {resource.kind}")
    client_of(ctx).patch(resource, _ns(namespace), name, {"spec": {"replicas": replicas}}, MERGE_PATCH, "scale")
    click.echo(f"{qualified_kind(resource.kind)}/{name} scaled")


@main.group("set")
def set_group() -> None:
    """Set specific features on objects."""


@set_group.command("image")
@click.argument("args", nargs=-1, required=True)
@namespace_option
@click.pass_context
@kubectl_errors
def set_image(ctx: click.Context, args: tuple[str, ...], namespace: str | None) -> None:
    """Update container images: set image deployment/NAME CONTAINER=IMAGE [...] (* for every container)."""
    pairs = [a for a in args if "=" in a]
    resource, name = one_target(tuple(a for a in args if "=" not in a))
    client = client_of(ctx)
    obj = client.get(resource, _ns(namespace), name)
    pod_spec = obj["spec"] if resource.kind == "Pod" else obj["spec"]["template"]["spec"]
    names = [c["name"] for c in pod_spec.get("containers") or []]
    changes = []
    for pair in pairs:
        container, _, image = pair.partition("=")
        chosen = names if container == "*" else [container]
        if container != "*" and container not in names:
            raise CommandFailed(f'error: unable to find container named "{container}"')
        changes += [{"name": c, "image": image} for c in chosen]
    containers_patch = {"containers": changes}
    patch = containers_patch if resource.kind == "Pod" else {"template": {"spec": containers_patch}}
    client.patch(resource, _ns(namespace), name, {"spec": patch}, STRATEGIC_MERGE_PATCH)
    click.echo(f"{qualified_kind(resource.kind)}/{name} image updated")


@main.command()
@click.argument("args", nargs=-1, required=True)
@click.option("--overwrite", is_flag=True, help="Replace existing values.")
@namespace_option
@click.pass_context
@kubectl_errors
def label(ctx: click.Context, args: tuple[str, ...], overwrite: bool, namespace: str | None) -> None:
    """Add (k=v) or remove (k-) labels: label KIND NAME k=v k2-."""
    changes = [a for a in args if "=" in a or a.endswith("-")]
    resource, name = one_target(tuple(a for a in args if a not in changes))
    client = client_of(ctx)
    obj = client.get(resource, _ns(namespace), name)
    old = dict((obj.get("metadata") or {}).get("labels") or {})
    new = dict(old)
    for change in changes:
        if change.endswith("-") and "=" not in change:
            new.pop(change[:-1], None)
            continue
        key, _, value = change.partition("=")
        if key in old and old[key] != value and not overwrite:
            raise CommandFailed(f"error: '{key}' already has a value ({old[key]}), and --overwrite is false")
        new[key] = value
    message = "not labeled"
    if new != old:
        patch = {"metadata": {"labels": {k: new.get(k) for k in set(old) | set(new) if old.get(k) != new.get(k)}}}
        client.patch(resource, _ns(namespace), name, patch, MERGE_PATCH)
        message = "unlabeled" if not overwrite and len(new) < len(old) else "labeled"
    click.echo(f"{qualified_kind(resource.kind)}/{name} {message}")


# ---------------------------------------------------------------------------------------------- rollout


@main.group()
def rollout() -> None:
    """Manage the rollout of a Deployment: status, history, undo."""


def _deployment_target(args: tuple[str, ...]) -> tuple[Resource, str]:
    resource, name = one_target(args)
    if resource.kind != "Deployment":
        raise CommandFailed(f"error: no rollout support for {resource.kind}; kubelab rolls out Deployments")
    return resource, name


def owned_replica_sets(client: Client, deployment: dict) -> list[dict]:
    uid = deployment["metadata"]["uid"]
    listing = client.list(by_kind("ReplicaSet"), deployment["metadata"]["namespace"])
    return [rs for rs in listing.get("items") or []
            if any(ref.get("uid") == uid and ref.get("controller") for ref in rs["metadata"].get("ownerReferences") or [])]


def revision_of(rs: dict) -> int:
    text = (rs["metadata"].get("annotations") or {}).get(REVISION, "0")
    return int(text) if text.isdigit() else 0


@rollout.command("status")
@click.argument("args", nargs=-1, required=True)
@click.option("-w", "--watch", default=True, type=bool, show_default=True, help="Wait until the rollout is done.")
@click.option("--timeout", default="0s", show_default=True,
              help="How long to wait before giving up (e.g. 90s, 5m); 0 waits for ever.")
@namespace_option
@click.pass_context
@kubectl_errors
def rollout_status(ctx: click.Context, args: tuple[str, ...], watch: bool, timeout: str,
                   namespace: str | None) -> None:
    """Show (and by default wait for) the status of a rollout."""
    resource, name = _deployment_target(args)
    client = client_of(ctx)
    deployment = client.get(resource, _ns(namespace), name)
    message, done = deployment_status(deployment)
    click.echo(message)
    if done or not watch:
        return
    seconds = _duration_seconds(timeout)
    events = client.watch(resource, _ns(namespace), deployment["metadata"]["resourceVersion"],
                          field_selector=f"metadata.name={name}", timeout_seconds=seconds)
    for event in events:
        if event.get("type") == "DELETED":
            raise CommandFailed('error: object has been deleted')
        status, done = deployment_status(event["object"])
        if status != message:
            click.echo(status)
            message = status
        if done:
            return
    if seconds:
        raise CommandFailed("error: timed out waiting for the condition")


def _duration_seconds(text: str) -> int:
    """A kubectl duration (90s, 5m, 1h, or a bare number of seconds) in whole seconds."""
    units = {"s": 1, "m": 60, "h": 3600}
    try:
        value = float(text[:-1]) * units[text[-1]] if text and text[-1] in units else float(text)
    except ValueError:
        raise CommandFailed(f'error: invalid argument "{text}" for "--timeout" flag: time: invalid duration') from None
    return int(value + 0.999)


def deployment_status(deployment: dict) -> tuple[str, bool]:
    """kubectl's DeploymentStatusViewer: one line of progress and whether the rollout is complete."""
    name, spec, status = deployment["metadata"]["name"], deployment["spec"], deployment.get("status") or {}
    if deployment["metadata"].get("generation", 0) > status.get("observedGeneration", 0):
        return "Waiting for deployment spec update to be observed...", False
    for condition in status.get("conditions") or []:
        if condition.get("type") == "Progressing" and condition.get("reason") == "ProgressDeadlineExceeded":
            raise CommandFailed(f'error: deployment "{name}" exceeded its progress deadline')
    wanted, updated = spec.get("replicas", 1), status.get("updatedReplicas", 0)
    prefix = f'Waiting for deployment "{name}" rollout to finish: '
    if updated < wanted:
        return f"{prefix}{updated} out of {wanted} new replicas have been updated...", False
    if status.get("replicas", 0) > updated:
        return f"{prefix}{status['replicas'] - updated} old replicas are pending termination...", False
    if status.get("availableReplicas", 0) < updated:
        return f"{prefix}{status.get('availableReplicas', 0)} of {updated} updated replicas are available...", False
    return f'deployment "{name}" successfully rolled out', True


@rollout.command("history")
@click.argument("args", nargs=-1, required=True)
@click.option("--revision", type=int, default=0, help="Show the pod template of this revision.")
@namespace_option
@click.pass_context
@kubectl_errors
def rollout_history(ctx: click.Context, args: tuple[str, ...], revision: int, namespace: str | None) -> None:
    """List a Deployment's revisions (from its ReplicaSets)."""
    resource, name = _deployment_target(args)
    client = client_of(ctx)
    deployment = client.get(resource, _ns(namespace), name)
    by_revision = {revision_of(rs): rs for rs in owned_replica_sets(client, deployment)}
    if revision:
        if revision not in by_revision:
            raise CommandFailed("error: unable to find the specified revision")
        template = describers.pod_template_text(by_revision[revision]["spec"]["template"])
        click.echo(f"{kind_name(deployment)} with revision #{revision}\n{template}")
        return
    rows = [["REVISION", "CHANGE-CAUSE"]]
    for number in sorted(by_revision):
        cause = (by_revision[number]["metadata"].get("annotations") or {}).get(CHANGE_CAUSE) or "<none>"
        rows.append([str(number), cause])
    click.echo(f"{kind_name(deployment)} \n{tabwrite(rows, 0, 2)}")


@rollout.command("undo")
@click.argument("args", nargs=-1, required=True)
@click.option("--to-revision", type=int, default=0, help="The revision to go back to (default: the previous).")
@namespace_option
@click.pass_context
@kubectl_errors
def rollout_undo(ctx: click.Context, args: tuple[str, ...], to_revision: int, namespace: str | None) -> None:
    """Roll back to the previous (or a given) revision: the Deployment takes that ReplicaSet's template."""
    resource, name = _deployment_target(args)
    client = client_of(ctx)
    deployment = client.get(resource, _ns(namespace), name)
    by_revision = {revision_of(rs): rs for rs in owned_replica_sets(client, deployment)}
    target = _rollback_revision(by_revision, to_revision, name)
    template = copy.deepcopy(by_revision[target]["spec"]["template"])
    (template.get("metadata") or {}).get("labels", {}).pop("pod-template-hash", None)
    if template == deployment["spec"]["template"]:
        click.echo(f"{kind_name(deployment)} skipped rollback (current template already matches revision {target})")
        return
    annotations = dict(deployment["metadata"].get("annotations") or {})
    for key, value in (by_revision[target]["metadata"].get("annotations") or {}).items():
        if key not in _ROLLBACK_SKIP:
            annotations[key] = value
    patch = [{"op": "replace", "path": "/spec/template", "value": template},
             {"op": "replace", "path": "/metadata/annotations", "value": annotations}]
    client.patch(resource, _ns(namespace), name, patch, JSON_PATCH)
    click.echo(f"{kind_name(deployment)} rolled back")


def _rollback_revision(by_revision: dict[int, dict], to_revision: int, name: str) -> int:
    if to_revision:
        if to_revision not in by_revision:
            raise CommandFailed(f"error: unable to find specified revision {to_revision} in history")
        return to_revision
    previous = sorted(by_revision)[:-1]
    if not previous:
        raise CommandFailed(f'error: no rollout history found for deployment "{name}"')
    return previous[-1]


# ---------------------------------------------------------------------------------------------- logs, cluster


@main.command()
@click.argument("pod")
@click.argument("container_arg", required=False)
@click.option("-c", "--container", default=None)
@click.option("-f", "--follow", is_flag=True)
@click.option("--tail", type=int, default=-1, help="Lines from the end (-1: all).")
@namespace_option
@click.pass_context
@kubectl_errors
def logs(ctx: click.Context, pod: str, container_arg: str | None, container: str | None, follow: bool, tail: int,
         namespace: str | None) -> None:
    """Print a container's log: logs POD [CONTAINER] [-c CONTAINER] [-f]."""
    name = pod.partition("/")[2] if pod.startswith(("pod/", "pods/", "po/")) else pod
    out = sys.stdout.buffer
    for chunk in client_of(ctx).logs(_ns(namespace), name, container or container_arg, follow, tail):
        out.write(chunk)
        out.flush()


@main.command("cluster-info")
@click.pass_context
@kubectl_errors
def cluster_info(ctx: click.Context) -> None:
    """Where the cluster's API server listens."""
    cluster = ctx.find_root().obj
    client_of(ctx).request("GET", "/version")
    url = os.environ.get(endpoints.SERVER_ENV) or endpoints.tcp_url(cluster) or endpoints.locate(cluster).url
    click.echo(f"Kubernetes control plane is running at {url}")


@main.command()
@click.pass_context
def kubeconfig(ctx: click.Context) -> None:
    """Print a kubeconfig for kubectl and client libraries (context kubelab-<cluster>)."""
    cluster = ctx.find_root().obj
    url, token = endpoints.tcp_url(cluster), endpoints.read_token(cluster)
    if not url or not token:
        raise KubelabError(f"cluster {cluster} publishes no API port and token in {endpoints.run_dir(cluster)} "
                           f"(is it up? are you root?)")
    ca = endpoints.cert_file(cluster)
    with open(ca, "rb") as handle:
        click.echo(render_kubeconfig(url, token, cluster, handle.read()), nl=False)
