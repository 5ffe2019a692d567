"""Every kubectl-style verb through the real server, checked by what a user sees: output, errors, exit codes."""

import textwrap

from tests.seed_manifests import NGINX_DEPLOYMENT_AND_SERVICE

MANIFEST = NGINX_DEPLOYMENT_AND_SERVICE


def table(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def test_apply_creates_then_is_unchanged_then_configured(kubelab, tmp_path):
    path = tmp_path / "app.yaml"
    path.write_text(MANIFEST)
    assert kubelab("apply", "-f", str(path)).stdout == "deployment.apps/dep01 created\nservice/mysvc created\n"
    assert kubelab("apply", "-f", str(path)).stdout == "deployment.apps/dep01 unchanged\nservice/mysvc unchanged\n"
    path.write_text(MANIFEST.replace("replicas: 2", "replicas: 3"))
    assert kubelab("apply", "-f", str(tmp_path)).stdout == "deployment.apps/dep01 configured\nservice/mysvc unchanged\n"
    assert kubelab("get", "deploy", "dep01", "-o", "jsonpath={.spec.replicas}").stdout == "3"


def test_apply_drops_what_the_manifest_no_longer_says(kubelab):
    kubelab("apply", "-f", "-", stdin=MANIFEST.replace("  selector:\n    app: web\n", "  selector:\n    app: web\n  externalIPs: [1.2.3.4]\n"))
    assert kubelab("apply", "-f", "-", stdin=MANIFEST).stdout.endswith("service/mysvc configured\n")
    assert kubelab("get", "svc", "mysvc", "-o", "jsonpath={.spec.externalIPs}").stdout == ""


def test_get_services_prints_kubectl_table(kubelab, cluster):
    kubelab("apply", "-f", "-", stdin=MANIFEST)
    cluster.clock.advance(21)
    result = kubelab("get", "svc")
    kubernetes_ip = cluster.registry.get("Service", "kubernetes", "default")["spec"]["clusterIP"]
    mysvc_ip = cluster.registry.get("Service", "mysvc", "default")["spec"]["clusterIP"]
    width = max(len("CLUSTER-IP"), len(kubernetes_ip), len(mysvc_ip)) + 3  # the allocated IP's length varies
    expected = table(f"""
        NAME         TYPE        {'CLUSTER-IP':<{width}}EXTERNAL-IP   PORT(S)          AGE
        kubernetes   ClusterIP   {kubernetes_ip:<{width}}<none>        443/TCP          21s
        mysvc        NodePort    {mysvc_ip:<{width}}<none>        8080:30001/TCP   21s
        """)
    assert result.stdout == expected


def test_run_rc_and_expose_it_as_a_load_balancer(kubelab, cluster):
    """The first tutorial: kubectl run ... --generator=run/v1, expose rc ... --type=LoadBalancer."""
    run = kubelab("run", "mykubia", "--image=luksa/kubia", "--port=9999", "--generator=run/v1")
    assert run.stdout == "replicationcontroller/mykubia created\n"
    exposed = kubelab("expose", "rc", "mykubia", "--type=LoadBalancer", "--name", "kubia-http")
    assert exposed.stdout == "service/kubia-http exposed\n"
    service = cluster.registry.get("Service", "kubia-http", "default")
    assert service["spec"]["selector"] == {"run": "mykubia"}
    port = service["spec"]["ports"][0]
    assert (port["port"], port["targetPort"]) == (9999, 9999)
    row = kubelab("get", "services", "kubia-http").stdout.splitlines()[1].split()
    assert row[1] == "LoadBalancer" and row[3] == "<pending>" and row[4] == f"9999:{port['nodePort']}/TCP"
    assert kubelab("scale", "rc", "mykubia", "--replicas=3").stdout == "replicationcontroller/mykubia scaled\n"
    cluster.settle()
    assert kubelab("get", "rc").stdout == table("""
        NAME      DESIRED   CURRENT   READY   AGE
        mykubia   3         3         3       0s
        """)


def test_create_deployment_and_expose_it_as_a_node_port(kubelab, cluster):
    created = kubelab("create", "deployment", "kubernetes-bootcamp", "--image=gcr.io/google-samples/kubernetes-bootcamp:v1",
                      "--port=8080")
    assert created.stdout == "deployment.apps/kubernetes-bootcamp created\n"
    exposed = kubelab("expose", "deployment/kubernetes-bootcamp", "--type=NodePort", "--port", "8080")
    assert exposed.stdout == "service/kubernetes-bootcamp exposed\n"
    service = cluster.registry.get("Service", "kubernetes-bootcamp", "default")
    assert service["spec"]["selector"] == {"app": "kubernetes-bootcamp"}
    assert service["metadata"]["labels"] == {"app": "kubernetes-bootcamp"}
    node_port = kubelab("get", "services/kubernetes-bootcamp", "-o", "go-template={{(index .spec.ports 0).nodePort}}")
    assert node_port.stdout == str(service["spec"]["ports"][0]["nodePort"])
    container = cluster.registry.get("Deployment", "kubernetes-bootcamp", "default")["spec"]["template"]["spec"]["containers"][0]
    assert container["name"] == "kubernetes-bootcamp"


def test_scale_then_get_shows_the_new_replica_count(kubelab, cluster):
    kubelab("create", "deployment", "web", "--image=nginx:1", "--replicas=1")
    cluster.settle()
    assert kubelab("scale", "deployments/web", "--replicas=4").stdout == "deployment.apps/web scaled\n"
    cluster.settle()
    cluster.clock.advance(125)
    assert kubelab("get", "deployments").stdout == table("""
        NAME   READY   UP-TO-DATE   AVAILABLE   AGE
        web    4/4     4            4           2m5s
        """)
    pods = kubelab("get", "pods", "-l", "app=web").stdout.splitlines()
    assert len(pods) == 5 and all(line.split()[2] == "Running" for line in pods[1:])


def test_set_image_makes_a_revision_and_undo_returns_to_the_previous(kubelab, cluster):
    kubelab("create", "deployment", "kubernetes-bootcamp", "--image=gcr.io/google-samples/kubernetes-bootcamp:v1")
    cluster.settle()
    updated = kubelab("set", "image", "deployments/kubernetes-bootcamp",
                      "kubernetes-bootcamp=docker.io/jocatalin/kubernetes-bootcamp:v2")
    assert updated.stdout == "deployment.apps/kubernetes-bootcamp image updated\n"
    cluster.settle()
    assert kubelab("rollout", "status", "deployments/kubernetes-bootcamp").stdout == \
        'deployment "kubernetes-bootcamp" successfully rolled out\n'
    assert kubelab("rollout", "history", "deployment/kubernetes-bootcamp").stdout == (
        "deployment.apps/kubernetes-bootcamp \nREVISION  CHANGE-CAUSE\n1         <none>\n2         <none>\n\n")
    assert len(kubelab("get", "rs").stdout.splitlines()) == 3
    assert kubelab("rollout", "undo", "deployments/kubernetes-bootcamp").stdout == \
        "deployment.apps/kubernetes-bootcamp rolled back\n"
    cluster.settle()
    image = kubelab("get", "deploy", "kubernetes-bootcamp", "-o", "jsonpath={.spec.template.spec.containers[0].image}")
    assert image.stdout == "gcr.io/google-samples/kubernetes-bootcamp:v1"
    history = kubelab("rollout", "history", "deployment/kubernetes-bootcamp").stdout.splitlines()
    assert [line.split()[0] for line in history[2:-1]] == ["2", "3"]  # revision 1 came back as 3
    assert kubelab("rollout", "undo", "deployment/kubernetes-bootcamp", "--to-revision=9").stderr == \
        "error: unable to find specified revision 9 in history\n"


def test_set_image_of_an_unknown_container_is_refused(kubelab):
    kubelab("create", "deployment", "web", "--image=nginx")
    result = kubelab("set", "image", "deployment/web", "nope=nginx:2")
    assert (result.exit_code, result.stderr) == (1, 'error: unable to find container named "nope"\n')


def test_label_adds_refuses_overwrite_and_removes(kubelab):
    kubelab("run", "p", "--image=nginx")
    assert kubelab("label", "pods", "p", "version=v1").stdout == "pod/p labeled\n"
    refused = kubelab("label", "pod", "p", "version=v2")
    assert (refused.exit_code, refused.stderr) == (1, "error: 'version' already has a value (v1), and --overwrite is false\n")
    assert kubelab("label", "pod", "p", "version-").stdout == "pod/p unlabeled\n"
    assert kubelab("get", "pods", "--show-labels").stdout.splitlines()[1].split()[-1] == "run=p"


def test_delete_by_name_by_file_and_by_selector(kubelab, tmp_path):
    path = tmp_path / "app.yaml"
    path.write_text(MANIFEST)
    kubelab("apply", "-f", str(path))
    assert kubelab("delete", "-f", str(path)).stdout == 'deployment.apps "dep01" deleted\nservice "mysvc" deleted\n'
    kubelab("apply", "-f", str(path))
    both = kubelab("delete", "deployments/dep01", "services/mysvc")
    assert both.stdout == 'deployment.apps "dep01" deleted\nservice "mysvc" deleted\n'
    kubelab("run", "a", "--image=nginx", "--labels=tier=x")
    kubelab("run", "b", "--image=nginx", "--labels=tier=x")
    assert kubelab("delete", "pods", "-l", "tier=x").stdout == 'pod "a" deleted\npod "b" deleted\n'


def test_errors_read_as_kubectls_and_exit_1(kubelab):
    missing = kubelab("get", "svc", "x")
    assert (missing.exit_code, missing.stderr) == (1, 'Error from server (NotFound): services "x" not found\n')
    unknown = kubelab("get", "widgets")
    assert unknown.stderr == 'error: the server doesn\'t have a resource type "widgets"\n'
    empty = kubelab("get", "pods")
    assert (empty.exit_code, empty.stdout, empty.stderr) == (0, "", "No resources found in default namespace.\n")


def test_an_invalid_manifest_is_refused_with_its_causes(kubelab):
    bad = MANIFEST.split("---\n")[1].replace("nodePort: 30001", "nodePort: 80")
    result = kubelab("apply", "-f", "-", stdin=bad)
    assert result.exit_code == 1
    assert result.stderr == ('The Service "mysvc" is invalid: spec.ports[0].nodePort: Invalid value: 80: provided port '
                             'is not in the valid range. The range of valid ports is 30000-32767\n')
    assert kubelab("get", "svc", "mysvc").exit_code == 1


def test_describe_service_reads_like_kubectl(kubelab, cluster):
    kubelab("apply", "-f", "-", stdin=MANIFEST)
    cluster.settle()
    spec = cluster.registry.get("Service", "mysvc", "default")["spec"]
    pods = sorted(p["status"]["podIP"] for p in cluster.registry.list("Pod", "default").items)
    assert kubelab("describe", "services/mysvc").stdout == table(f"""
        Name:                     mysvc
        Namespace:                default
        Labels:                   <none>
        Annotations:              <none>
        Selector:                 app=web
        Type:                     NodePort
        IP Family Policy:         SingleStack
        IP Families:              IPv4
        IP:                       {spec['clusterIP']}
        IPs:                      {spec['clusterIP']}
        Port:                     <unset>  8080/TCP
        TargetPort:               80/TCP
        NodePort:                 <unset>  30001/TCP
        Endpoints:                {pods[0]}:80,{pods[1]}:80
        Session Affinity:         None
        External Traffic Policy:  Cluster
        Internal Traffic Policy:  Cluster
        Events:                   <none>
        """)


def test_logs_print_a_containers_output(kubelab, cluster):
    kubelab("run", "mykubia", "--image=luksa/kubia")
    cluster.write_log("default", "mykubia", "mykubia", "Kubia server starting...\nReceived request\n")
    assert kubelab("logs", "mykubia").stdout == "Kubia server starting...\nReceived request\n"
    assert kubelab("logs", "mykubia", "--tail=1").stdout == "Received request\n"


def test_get_output_formats(kubelab):
    kubelab("apply", "-f", "-", stdin=MANIFEST)
    assert kubelab("get", "svc,deploy", "-o", "name").stdout == "service/kubernetes\nservice/mysvc\ndeployment.apps/dep01\n"
    yaml_out = kubelab("get", "svc", "mysvc", "-o", "yaml").stdout
    assert yaml_out.startswith("apiVersion: v1\nkind: Service\nmetadata:\n  annotations:\n")
    assert "nodePort: 30001" in yaml_out
    assert kubelab("get", "pods", "-o", "json").stdout == (
        '{\n    "apiVersion": "v1",\n    "items": [],\n    "kind": "List",\n    "metadata": {\n'
        '        "resourceVersion": ""\n    }\n}\n')


def test_kubeconfig_needs_a_running_cluster(kubelab, monkeypatch, tmp_path):
    monkeypatch.setenv("KUBELAB_RUN_DIR", str(tmp_path / "run"))
    result = kubelab("--cluster", "lab1", "kubeconfig")
    assert result.exit_code == 1 and "publishes no API port and token" in result.stderr


def test_kubeconfig_from_published_files_works_with_the_official_client(kubelab, monkeypatch, tmp_path):
    from kubernetes import client as k8s, config as k8s_config

    from controlplane.apiserver import BackgroundServer, make_app
    from controlplane.apiserver.tls import ensure_certificate
    from controlplane.registry import Registry
    from controlplane.store import Store
    from kubelab import endpoints

    monkeypatch.setenv("KUBELAB_RUN_DIR", str(tmp_path / "run"))
    certificate = ensure_certificate(endpoints.run_dir("lab1"))
    app = make_app(Registry(Store()), token="s3cret")
    with BackgroundServer(app, tcp_port=0, certificate=certificate) as server:
        endpoints.publish("lab1", "s3cret", server.tcp_port)
        result = kubelab("--cluster", "lab1", "kubeconfig")
        assert "current-context: kubelab-lab1" in result.stdout
        path = tmp_path / "kubeconfig"
        path.write_text(result.stdout)
        api = k8s_config.new_client_from_config(config_file=str(path))
        names = [n.metadata.name for n in k8s.CoreV1Api(api).list_namespace().items]
        api.close()
    assert names == ["default", "kube-node-lease", "kube-public", "kube-system"]


def test_rollout_status_gives_up_after_its_timeout(kubelab):
    kubelab("create", "deployment", "stuck", "--image=nginx")  # no controller runs: it never progresses
    result = kubelab("rollout", "status", "deployment/stuck", "--timeout=1s")
    assert result.exit_code == 1
    assert result.stderr.endswith("error: timed out waiting for the condition\n")
