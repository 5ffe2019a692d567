import sys

import pytest

from kubelab.images import ImagePullError, container_argv, normalise, resolve


@pytest.mark.parametrize("reference, expected", [
    ("nginx", ("nginx", "latest")),
    ("docker.io/library/nginx:1.14.2", ("nginx", "1.14.2")),
    ("daocloud.io/library/nginx", ("daocloud.io/nginx", "latest")),
    ("gcr.io/google-samples/kubernetes-bootcamp:v1", ("gcr.io/google-samples/kubernetes-bootcamp", "v1")),
    ("docker.io/jocatalin/kubernetes-bootcamp:v2", ("jocatalin/kubernetes-bootcamp", "v2")),
    ("localhost:5000/app", ("localhost:5000/app", "latest")),
])
def test_references_are_normalised_like_a_container_runtime(reference, expected):
    assert normalise(reference) == expected


@pytest.mark.parametrize("reference, server", [
    ("luksa/kubia", "kubia"),
    ("gcr.io/google-samples/kubernetes-bootcamp:v1", "bootcamp-v1"),
    ("docker.io/jocatalin/kubernetes-bootcamp:v2", "bootcamp-v2"),
    ("jocatalin/kubernetes-bootcamp:v2", "bootcamp-v2"),
    ("nginx:1.14.2", "nginx"),
    ("daocloud.io/library/nginx", "nginx"),
])
def test_tutorial_images_exist(reference, server):
    assert resolve(reference).server == server


def test_a_tag_that_does_not_exist_fails_to_pull():
    with pytest.raises(ImagePullError, match='Failed to pull image "jocatalin/kubernetes-bootcamp:v10".*not found'):
        resolve("jocatalin/kubernetes-bootcamp:v10")


def test_command_replaces_the_entrypoint_and_args_its_arguments():
    assert container_argv({"image": "busybox", "command": ["sleep"], "args": ["3600"]}) == ["sleep", "3600"]
    assert container_argv({"image": "busybox", "args": ["sleep", "5"]}) == ["sleep", "5"]
    assert container_argv({"image": "busybox"}) == ["sh"]
    assert container_argv({"image": "luksa/kubia"}) == [sys.executable, "-m", "kubelab.images.servers", "kubia"]
