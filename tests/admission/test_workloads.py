from __future__ import annotations

import pytest

from sigverify.admission.workloads import ImageUse, changed_images, extract_images
from sigverify.errors import InputError
from tests.admission.builders import KINDS, pod_spec, workload

SPEC = pod_spec(
    ("quay.io/a/web:1", "quay.io/a/side:2"), init=("quay.io/a/init:3",), ephemeral=("busybox",)
)
PREFIX = {
    "Pod": "/spec",
    "CronJob": "/spec/jobTemplate/spec/template/spec",
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_every_container_list(kind: str) -> None:
    group = KINDS[kind][0]
    prefix = PREFIX.get(kind, "/spec/template/spec")
    uses = extract_images(group, kind, workload(kind, SPEC))
    assert uses == [
        ImageUse(f"{prefix}/initContainers/0/image", "quay.io/a/init:3", "init0"),
        ImageUse(f"{prefix}/containers/0/image", "quay.io/a/web:1", "c0"),
        ImageUse(f"{prefix}/containers/1/image", "quay.io/a/side:2", "c1"),
        ImageUse(f"{prefix}/ephemeralContainers/0/image", "busybox", "debug0"),
    ]


def test_location_reads_like_a_field_path() -> None:
    use = ImageUse("/spec/jobTemplate/spec/template/spec/initContainers/0/image", "x", "init0")
    assert use.location == "spec.jobTemplate.spec.template.spec.initContainers[0] (init0)"
    assert ImageUse("/spec/containers/3/image", "x", "").location == "spec.containers[3]"


def test_other_kinds_and_missing_parts() -> None:
    assert extract_images("", "ConfigMap", {"data": {}}) == []
    assert extract_images("apps", "Pod", workload("Pod", SPEC)) == []  # group matters
    assert extract_images("apps", "Deployment", {"spec": {}}) == []
    assert extract_images("", "Pod", None) == []
    no_image = {"spec": {"containers": [{"name": "a"}, {"name": "b", "image": ""}]}}
    assert extract_images("", "Pod", no_image) == []


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ({"spec": []}, "/spec: must be an object, not list"),
        ({"spec": {"containers": {}}}, "/spec/containers: must be a list"),
        ({"spec": {"containers": ["x"]}}, "/spec/containers/0: must be an object, not str"),
        ({"spec": {"containers": [{"image": 7}]}}, "/spec/containers/0/image: must be a string"),
        (
            {"spec": {"initContainers": [{"name": 1, "image": "a"}]}},
            "/spec/initContainers/0/name: must be a string",
        ),
    ],
)
def test_malformed(obj: dict[str, object], message: str) -> None:
    with pytest.raises(InputError) as caught:
        extract_images("", "Pod", obj)
    assert str(caught.value) == message


def test_update_checks_only_new_images() -> None:
    old = workload("Deployment", pod_spec(("quay.io/a/web:1", "quay.io/a/side:2")))
    new = workload("Deployment", pod_spec(("quay.io/a/side:2", "quay.io/a/web:2")))
    assert changed_images("apps", "Deployment", new, old) == [
        ImageUse("/spec/template/spec/containers/1/image", "quay.io/a/web:2", "c1")
    ]
    assert changed_images("apps", "Deployment", old, old) == []
    assert len(changed_images("apps", "Deployment", new, None)) == 2
    assert len(changed_images("apps", "Deployment", new, {"spec": "broken"})) == 2
