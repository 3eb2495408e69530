"""The real kubectl against a running ``sigverify serve`` (issue 14): discovery, reads, output
formats, selectors, explain. One server (HTTPS, the kubeconfig it wrote) for the module."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from sigverify.imageapi.store.image_store import ImageStore
from tests.imageapi.demo import APP, TOOLS, seeded_store
from tests.support.kube import KubeServer, kube_server, kubectl_minor

pytestmark = pytest.mark.slow


def _labelled_store(path: Path) -> ImageStore:
    """The demo data, with labels on both Images and the ``app`` stream."""
    store = seeded_store(path)
    for name, labels in ((APP, {"team": "payments", "tier": "prod"}), (TOOLS, {"team": "infra"})):
        image = store.get_image(name)
        image["metadata"]["labels"] = labels
        store.put_object(image)
    stream = store.get_imagestream("demo", "app")
    stream["metadata"]["labels"] = {"team": "payments"}
    store.put_object(stream)
    return store


@pytest.fixture(scope="module")
def kube(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeServer]:
    folder = tmp_path_factory.mktemp("kube")
    store = _labelled_store(folder / "store.db")
    with kube_server(folder, store=store.path) as server:
        # Record both verdicts through the service, as a user would: app is trusted, tools not.
        for stream, digest in (("app", APP), ("tools", TOOLS)):
            path = f"/api/v1/namespaces/demo/imagestreamimages/{stream}@{digest}/verification"
            status, body = server.served.request("POST", path + "?record=true")
            assert status == 200 and body["recorded"]["written"], body
        yield server


def _ok(kube: KubeServer, *args: str) -> str:
    result = kube.kubectl(*args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_kubeconfig_is_https_with_the_ca_and_the_admin_token(kube: KubeServer) -> None:
    text = kube.kubeconfig.read_text()
    assert kube.kubeconfig.stat().st_mode & 0o777 == 0o600
    assert f'server: "{kube.url}"' in text and kube.url.startswith("https://127.0.0.1:")
    assert "certificate-authority-data: " in text
    assert f'token: "{kube.served.token}"' in text
    config = json.loads(_ok(kube, "config", "view", "--raw", "-o", "json"))
    assert config["current-context"] == "sigverify"
    assert config["users"][0]["user"]["token"] == kube.served.token


def test_api_resources_lists_the_image_group_with_short_names(kube: KubeServer) -> None:
    lines = _ok(kube, "api-resources", "--api-group", "image.openshift.io", "-o", "wide")
    rows = _rows(lines)
    assert rows[0][:6] == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND", "VERBS"]
    # kubectl 1.20 prints the verbs as [get list] and no categories, later ones get,list.
    found = [[cell.strip("[]").replace(" ", ",") for cell in row] for row in rows[1:]]
    if kubectl_minor() < 21:
        found = [[*row, "all"] if row[0] == "imagestreams" else row for row in found]
    group = "image.openshift.io/v1"
    assert found == [
        ["images", group, "false", "Image", "get,list,patch,update,watch"],
        ["imagesignatures", group, "false", "ImageSignature", "create,delete"],
        ["imagestreamimages", "isimage", group, "true", "ImageStreamImage", "get"],
        ["imagestreams", "is", group, "true", "ImageStream", "get,list,watch", "all"],
        ["imagestreamtags", "istag", group, "true", "ImageStreamTag", "get"],
    ]


def test_version_and_api_versions(kube: KubeServer) -> None:
    version = json.loads(_ok(kube, "version", "-o", "json"))
    assert version["serverVersion"]["gitVersion"] == "v1.32.0+sigverify-0.1.0"
    assert _ok(kube, "api-versions") == "image.openshift.io/v1\n"


def test_get_images_names_both_images(kube: KubeServer) -> None:
    names = _ok(kube, "get", "images", "-o", "name").split()
    assert names == [f"image.image.openshift.io/{TOOLS}", f"image.image.openshift.io/{APP}"]


def _rows(text: str) -> list[list[str]]:
    """kubectl's table output, split on runs of two or more spaces."""
    return [re.split(r"\s{2,}", line.strip()) for line in text.splitlines()]


def test_get_images_shows_oc_columns_and_the_verification(kube: KubeServer) -> None:
    assert _rows(_ok(kube, "get", "images")) == [
        ["NAME", "IMAGE REFERENCE", "VERIFICATION"],
        [TOOLS, f"registry.example.com/demo/tools@{TOOLS}", "Untrusted"],
        [APP, f"registry.example.com/demo/app@{APP}", "Trusted"],
    ]
    assert _rows(_ok(kube, "get", "images.image.openshift.io", "-o", "wide")) == [
        ["NAME", "IMAGE REFERENCE", "VERIFICATION", "SIGNATURES"],
        [TOOLS, f"registry.example.com/demo/tools@{TOOLS}", "Untrusted", "3"],
        [APP, f"registry.example.com/demo/app@{APP}", "Trusted", "1"],
    ]


def test_get_an_imagestreamimage_by_name(kube: KubeServer) -> None:
    rows = _rows(_ok(kube, "get", "isimage", "-n", "demo", f"app@{APP}"))
    assert rows[0] == ["NAME", "UPDATED", "VERIFICATION"]
    [name, updated, verification] = rows[1]
    assert (name, verification) == (f"app@{APP}", "Trusted")
    assert re.fullmatch(r"\d+ (days|weeks) ago", updated), updated
    wide = _rows(_ok(kube, "get", "isimage", "-n", "demo", f"app@{APP}", "-o", "wide"))
    assert wide[0] == [
        "NAME",
        "UPDATED",
        "VERIFICATION",
        "IMAGE REFERENCE",
        "IMAGE NAME",
        "SIGNATURES",
    ]
    assert wide[1][3:] == [f"registry.example.com/demo/app@{APP}", APP, "1"]
    # A digest prefix names it too, as on OpenShift (the name is the one asked for).
    path = "jsonpath={.metadata.name} {.image.metadata.name}"
    short = _ok(kube, "get", "isimage", "-n", "demo", f"app@{APP[:19]}", "-o", path)
    assert short == f"app@{APP[:19]} {APP}"


def test_imagestreamimages_cannot_be_listed(kube: KubeServer) -> None:
    result = kube.kubectl("get", "isimage", "-n", "demo")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        'Error from server (NotFound): Unable to list "image.openshift.io/v1, '
        'Resource=imagestreamimages": the server could not find the requested resource'
    )
    result = kube.kubectl("get", "isimage", "-n", "demo", "app")
    assert result.returncode == 1
    assert "ImageStreamImages must be retrieved with <name>@<id>" in result.stderr


def test_get_imagestreams_and_tags(kube: KubeServer) -> None:
    rows = _rows(_ok(kube, "get", "is", "-n", "demo"))
    assert [row[:3] for row in rows] == [
        ["NAME", "IMAGE REPOSITORY", "TAGS"],
        ["app", "image-registry.openshift-image-registry.svc:5000/demo/app", "1.0"],
        ["tools", "image-registry.openshift-image-registry.svc:5000/demo/tools", "2.1"],
    ]
    assert rows[0][3] == "UPDATED" and rows[1][3].endswith(" ago")
    everywhere = _rows(_ok(kube, "get", "is", "-A", "--show-labels"))
    assert everywhere[0] == ["NAMESPACE", "NAME", "IMAGE REPOSITORY", "TAGS", "UPDATED", "LABELS"]
    assert [(row[0], row[1], row[-1]) for row in everywhere[1:]] == [
        ("demo", "app", "team=payments"),
        ("demo", "tools", "<none>"),
    ]
    tag = _rows(_ok(kube, "get", "istag", "-n", "demo", "app:1.0", "-o", "wide"))
    assert tag[0] == [
        "NAME",
        "IMAGE REFERENCE",
        "UPDATED",
        "VERIFICATION",
        "IMAGE NAME",
        "SIGNATURES",
    ]
    assert [tag[1][i] for i in (0, 1, 3, 4, 5)] == [
        "app:1.0",
        f"registry.example.com/demo/app@{APP}",
        "Trusted",
        APP,
        "1",
    ]


def test_output_formats(kube: KubeServer) -> None:
    listed = json.loads(_ok(kube, "get", "images", "-o", "json"))
    assert listed["kind"] == "List" and [i["kind"] for i in listed["items"]] == ["Image"] * 2
    app = next(i for i in listed["items"] if i["metadata"]["name"] == APP)
    [sig] = app["signatures"]
    assert [(c["type"], c["status"]) for c in sig["conditions"]] == [
        ("Trusted", "True"),
        ("ForImage", "True"),
    ]
    text = _ok(kube, "get", "isimage", "-n", "demo", f"app@{APP}", "-o", "yaml")
    assert text.startswith("apiVersion: image.openshift.io/v1\nimage:\n")
    assert f"  name: app@{APP}\n" in text and "kind: ImageStreamImage\n" in text
    assert "    - type: Trusted\n" in text or "      type: Trusted\n" in text
    path = "{.signatures[0].conditions[?(@.type=='Trusted')].status}"
    assert _ok(kube, "get", "image", APP, "-o", f"jsonpath={path}") == "True"
    names = _ok(kube, "get", "images", "-o", "jsonpath={.items[*].metadata.name}")
    assert names == f"{TOOLS} {APP}"
    columns = _ok(kube, "get", "is", "-n", "demo", "-o", "custom-columns=N:.metadata.name")
    assert columns == "N\napp\ntools\n"


@pytest.mark.parametrize(
    ("selector", "names"),
    [
        ("team=payments", [APP]),
        ("team!=payments", [TOOLS]),
        ("team in (infra,platform)", [TOOLS]),
        ("team notin (infra)", [APP]),
        ("tier", [APP]),
        ("!tier", [TOOLS]),
        ("team=payments,tier=dev", []),
    ],
)
def test_label_selectors(kube: KubeServer, selector: str, names: list[str]) -> None:
    listed = _ok(kube, "get", "images", "-l", selector, "-o", "name").split()
    assert listed == [f"image.image.openshift.io/{name}" for name in names]


def test_field_selectors(kube: KubeServer) -> None:
    def names(*args: str) -> list[str]:
        return _ok(kube, "get", *args, "-o", "name").split()

    assert names("images", "--field-selector", f"metadata.name={APP}") == [
        f"image.image.openshift.io/{APP}"
    ]
    assert names("images", "--field-selector", f"metadata.name!={APP}") == [
        f"image.image.openshift.io/{TOOLS}"
    ]
    assert names("is", "-A", "--field-selector", "metadata.namespace=demo,metadata.name=tools") == [
        "imagestream.image.openshift.io/tools"
    ]
    assert names("is", "-n", "demo", "-l", "team=payments") == [
        "imagestream.image.openshift.io/app"
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--field-selector", "spec.size=1"),
            'Error from server (BadRequest): Unable to find "image.openshift.io/v1, '
            'Resource=images" that match label selector "", field selector "spec.size=1": '
            "field label not supported: spec.size",
        ),
        (
            ("-l", "team in payments"),
            'Error from server (BadRequest): Unable to find "image.openshift.io/v1, '
            'Resource=images" that match label selector "team in payments", field selector "": '
            "unable to parse requirement: found 'payments', expected: '('",
        ),
    ],
)
def test_unsupported_selectors_are_a_400(
    kube: KubeServer, args: tuple[str, ...], message: str
) -> None:
    result = kube.kubectl("get", "images", *args)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip() == message


def test_explain(kube: KubeServer) -> None:
    text = _ok(kube, "explain", "images")
    field = _ok(kube, "explain", "isimage.image.signatures.conditions")
    if kubectl_minor() >= 27:  # OpenAPI v3
        assert text.startswith(
            "GROUP:      image.openshift.io\nKIND:       Image\nVERSION:    v1\n"
        )
        assert "  signatures\t<[]ImageSignature>\n" in text
        assert "KIND:       ImageStreamImage\n" in field
        assert "FIELD: conditions <[]SignatureCondition>" in field
        assert "  type\t<string> -required-\n    Trusted, ForImage, Expired or Revoked.\n" in field
    else:  # OpenAPI v2
        assert text.startswith("KIND:     Image\nVERSION:  image.openshift.io/v1\n")
        assert "   signatures\t<[]Object>\n" in text
        assert "KIND:     ImageStreamImage\n" in field
        assert "RESOURCE: conditions <[]Object>" in field
        assert (
            "   type\t<string> -required-\n     Trusted, ForImage, Expired or Revoked.\n" in field
        )
    assert "An immutable container image (named by its manifest digest)" in text


def test_client_side_validation(kube: KubeServer, tmp_path: Path) -> None:
    document = json.loads(_ok(kube, "get", "image", TOOLS, "-o", "json"))
    good = tmp_path / "good.json"
    good.write_text(json.dumps(document))
    assert _ok(kube, "replace", "-f", str(good)) == f"image.image.openshift.io/{TOOLS} replaced\n"
    document["signatures"][0]["conditions"][0]["colour"] = "red"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document))
    result = kube.kubectl("replace", "-f", str(bad))
    assert result.returncode == 1
    # The OpenAPI v3 document lists fieldValidation on the writes (the server honours it),
    # so kubectl ≥ 1.27 leaves validation to the server (fieldValidation=Strict); an older
    # one validates on the client against OpenAPI v2.
    if kubectl_minor() >= 27:
        assert result.stderr == (
            f'Error from server (BadRequest): error when replacing "{bad}": strict decoding '
            'error: unknown field "signatures[0].conditions[0].colour"\n'
        )
    else:
        assert result.stderr.startswith(
            f'error: error validating "{bad}": error validating data: '
            'ValidationError(Image.signatures[0].conditions[0]): unknown field "colour" in '
            "com.github.openshift.api.image.v1.SignatureCondition;"
        )


def test_a_wrong_token_is_refused(kube: KubeServer) -> None:
    result = kube.kubectl("--token", "forged", "get", "images")
    assert result.returncode == 1
    assert result.stderr.strip() == "error: You must be logged in to the server (Unauthorized)"


def test_the_python_dynamic_client_reads(kube: KubeServer, tmp_path: Path) -> None:
    from kubernetes import config, dynamic
    from kubernetes.client import ApiClient, Configuration
    from kubernetes.dynamic.exceptions import BadRequestError

    configuration = Configuration()
    config.load_kube_config(str(kube.kubeconfig), client_configuration=configuration)
    with ApiClient(configuration) as api:
        client = dynamic.DynamicClient(api, cache_file=str(tmp_path / "discovery.json"))
        images = client.resources.get(api_version="image.openshift.io/v1", kind="Image")
        assert sorted(i.metadata.name for i in images.get().items) == sorted([APP, TOOLS])
        assert [i.metadata.name for i in images.get(label_selector="tier").items] == [APP]
        streams = client.resources.get(api_version="image.openshift.io/v1", short_names=["is"])
        assert [s.metadata.name for s in streams.get(namespace="demo").items] == ["app", "tools"]
        isimage = client.resources.get(api_version="image.openshift.io/v1", kind="ImageStreamImage")
        found = isimage.get(namespace="demo", name=f"app@{APP}")
        assert found.image.signatures[0].conditions[0].type == "Trusted"
        with pytest.raises(BadRequestError) as caught:
            images.get(field_selector="spec.size=1")
        assert caught.value.status == 400
        assert json.loads(caught.value.body)["message"] == "field label not supported: spec.size"


def test_pages_and_sorting_through_tables(kube: KubeServer) -> None:
    # --chunk-size 1: a Table per page, followed by its continue token.
    paged = _rows(_ok(kube, "get", "images", "--chunk-size", "1", "-l", "team"))
    assert [row[0] for row in paged] == ["NAME", TOOLS, APP]
    # --sort-by needs the whole objects in the rows (includeObject=Object).
    by_reference = _rows(_ok(kube, "get", "images", "--sort-by", ".dockerImageReference"))
    assert [row[0] for row in by_reference] == ["NAME", APP, TOOLS]


def test_get_all_lists_the_imagestreams(kube: KubeServer) -> None:
    assert _ok(kube, "get", "all", "-n", "demo", "-o", "name").split() == [
        "imagestream.image.openshift.io/app",
        "imagestream.image.openshift.io/tools",
    ]


def test_not_found_reads_as_on_a_cluster(kube: KubeServer) -> None:
    missing = "sha256:" + "0" * 64
    result = kube.kubectl("get", "image", missing)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f'Error from server (NotFound): images.image.openshift.io "{missing}" not found'
    )
    result = kube.kubectl("get", "isimage", "-n", "demo", f"app@{missing}")
    assert result.returncode == 1 and "(NotFound)" in result.stderr
