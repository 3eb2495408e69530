"""The embedded store, held to the OpenShift image API server's rules (domain.md §1)."""

from __future__ import annotations

import base64
import copy
import multiprocessing
from pathlib import Path
from typing import Any

import pytest

from sigverify.errors import InputError
from sigverify.imageapi.errors import (
    AlreadyExistsError,
    BadRequestError,
    Cause,
    ClusterServerError,
    ConflictError,
    InvalidObjectError,
    NotFoundError,
)
from sigverify.imageapi.store.image_store import ImageStore
from tests.imageapi.builders import conditions, digest_of, image, signature, stream


def _seed(store: ImageStore, *seeds: str) -> list[dict[str, Any]]:
    return [store.put_object(image(seed)) for seed in seeds]


# -- storing and reading --------------------------------------------------------------------


def test_an_image_reads_back_losslessly_with_a_resource_version(store: ImageStore) -> None:
    sent = image("app")
    stored = store.put_object(sent)
    got = store.get_image(digest_of("app"))
    assert got == stored
    assert list(got) == list(sent)  # member order kept
    assert got["x-unknown-member"] == {"kept": [1, 2.5, None, True]}
    assert got["kind"] == "Image" and got["apiVersion"] == "image.openshift.io/v1"
    assert got["metadata"]["resourceVersion"] == "1001"
    assert got["metadata"]["creationTimestamp"] == "2026-11-27T07:00:00Z"
    assert got["metadata"]["uid"]
    without_system = copy.deepcopy(got)
    for key in ("resourceVersion", "creationTimestamp", "uid"):
        del without_system["metadata"][key]
    assert without_system == sent


def test_resource_versions_are_one_monotonic_counter(store: ImageStore) -> None:
    a, b = _seed(store, "a", "b")
    s = store.put_object(stream("demo", "app", {"latest": [digest_of("a")]}))
    versions = [int(o["metadata"]["resourceVersion"]) for o in (a, b, s)]
    assert versions == [1001, 1002, 1003]


def test_unknown_image_is_not_found(store: ImageStore) -> None:
    with pytest.raises(NotFoundError, match=r'^images.image.openshift.io "sha256:nope" not found$'):
        store.get_image("sha256:nope")


def test_seeding_rejects_what_cannot_be_stored(store: ImageStore) -> None:
    with pytest.raises(InputError, match="kind 'Pod' cannot be stored"):
        store.put_object({"kind": "Pod", "metadata": {"name": "x"}})
    with pytest.raises(InputError, match=r"has no metadata.namespace"):
        store.put_object({"kind": "ImageStream", "metadata": {"name": "x"}})
    with pytest.raises(InputError, match=r"signatures\[0\].type: Required value"):
        store.put_object(
            image("bad") | {"signatures": [{"metadata": {"name": "a@b"}, "content": "YQ=="}]}
        )


def test_an_imagestreamimage_document_seeds_its_image(store: ImageStore) -> None:
    body = image("isi")
    store.put_object({"kind": "ImageStreamImage", "metadata": {"name": "x@y"}, "image": body})
    assert store.get_image(digest_of("isi"))["dockerImageReference"] == body["dockerImageReference"]


# -- update (PUT) ---------------------------------------------------------------------------


def test_update_stores_exactly_what_is_sent_and_bumps_the_version(store: ImageStore) -> None:
    (read,) = _seed(store, "app")
    sent = copy.deepcopy(read)
    sent["signatures"][0]["conditions"] = conditions("True")
    sent["signatures"][0]["imageIdentity"] = "registry.example.com/demo/app:1"
    sent["x-new"] = "client member"
    written = store.update_image(sent)
    assert written["metadata"]["resourceVersion"] == "1002"
    assert written["signatures"] == sent["signatures"]
    assert written["x-new"] == "client member"
    assert store.get_image(read["metadata"]["name"]) == written


def test_update_with_a_stale_resource_version_conflicts(store: ImageStore) -> None:
    (read,) = _seed(store, "app")
    first = copy.deepcopy(read)
    first["signatures"][0]["conditions"] = conditions("True")
    store.update_image(first)
    stale = copy.deepcopy(read)
    stale["signatures"][0]["conditions"] = conditions("False")
    with pytest.raises(ConflictError) as caught:
        store.update_image(stale)
    assert str(caught.value) == (
        f'Operation cannot be fulfilled on images.image.openshift.io "{read["metadata"]["name"]}"'
        ": the object has been modified; please apply your changes to the latest version and "
        "try again"
    )
    assert store.get_image(read["metadata"]["name"])["signatures"] == first["signatures"]


def test_update_without_a_resource_version_is_invalid(store: ImageStore) -> None:
    (read,) = _seed(store, "app")
    del read["metadata"]["resourceVersion"]
    with pytest.raises(InvalidObjectError) as caught:
        store.update_image(read)
    assert caught.value.causes == (
        Cause(
            "FieldValueInvalid",
            "Invalid value: 0x0: must be specified for an update",
            "metadata.resourceVersion",
        ),
    )


def test_update_of_an_unknown_image_is_not_found(store: ImageStore) -> None:
    body = image("ghost")
    body["metadata"]["resourceVersion"] = "5"
    with pytest.raises(NotFoundError):
        store.update_image(body)


def test_update_name_must_match_the_url(store: ImageStore) -> None:
    (read,) = _seed(store, "app")
    with pytest.raises(BadRequestError, match=r"does not match the name on the URL \(sha256:x\)"):
        store.update_image(read, name="sha256:x")


def test_a_no_op_update_keeps_the_resource_version(store: ImageStore) -> None:
    (read,) = _seed(store, "app")
    assert store.update_image(read)["metadata"]["resourceVersion"] == "1001"
    assert store.update_image(read)["metadata"]["resourceVersion"] == "1001"


def test_update_cannot_change_image_metadata_layers_or_manifest(store: ImageStore) -> None:
    (read,) = _seed(store, "app")
    sent = copy.deepcopy(read)
    sent["dockerImageLayers"] = []
    sent["dockerImageMetadata"] = {"changed": True}
    sent["dockerImageManifest"] = '{"other":1}'
    sent["dockerImageConfig"] = "{}"
    sent["metadata"]["creationTimestamp"] = "2000-01-01T00:00:00Z"
    sent["x-new"] = 1
    written = store.update_image(sent)
    for key in ("dockerImageLayers", "dockerImageMetadata", "dockerImageManifest"):
        assert written[key] == read[key]
    assert written["dockerImageConfig"] == read["dockerImageConfig"]
    assert written["metadata"]["creationTimestamp"] == read["metadata"]["creationTimestamp"]


def test_update_without_manifest_and_config_clears_them_as_a_cluster_does(
    store: ImageStore,
) -> None:
    (read,) = _seed(store, "app")
    del read["dockerImageManifest"], read["dockerImageConfig"]  # an ImageStreamImage's image
    written = store.update_image(read)
    assert "dockerImageManifest" not in written and "dockerImageConfig" not in written


def test_update_accepts_a_manifest_that_matches_the_digest(store: ImageStore) -> None:
    import hashlib

    manifest = '{"schemaVersion":2,"layers":[]}'
    name = "sha256:" + hashlib.sha256(manifest.encode()).hexdigest()
    body = image("m")
    body["metadata"]["name"] = name
    body["signatures"] = []
    read = store.put_object(body)
    read["dockerImageManifest"] = manifest
    assert store.update_image(read)["dockerImageManifest"] == manifest


def test_update_cannot_change_the_uid(store: ImageStore) -> None:
    (read,) = _seed(store, "app")
    read["metadata"]["uid"] = "other"
    with pytest.raises(InvalidObjectError, match=r"metadata.uid: Invalid value: 'other'"):
        store.update_image(read)


def _update_with(store: ImageStore, change: Any) -> InvalidObjectError:
    (read,) = _seed(store, "app")
    sent = copy.deepcopy(read)
    change(sent["signatures"][0])
    with pytest.raises(InvalidObjectError) as caught:
        store.update_image(sent)
    assert store.get_image(read["metadata"]["name"]) == read  # nothing written
    return caught.value


@pytest.mark.parametrize(
    ("change", "cause"),
    [
        (
            lambda s: s["metadata"].update(name="no-at-sign"),
            Cause(
                "FieldValueInvalid",
                "Invalid value: 'no-at-sign': name must be of format <imageName>@<signatureName>",
                "signatures[0].metadata.name",
            ),
        ),
        (
            lambda s: s["metadata"].update(name="a@b@c"),
            Cause(
                "FieldValueInvalid",
                "Invalid value: 'a@b@c': name must be of format <imageName>@<signatureName>",
                "signatures[0].metadata.name",
            ),
        ),
        (
            lambda s: s["metadata"].update(labels={"a": "b"}),
            Cause(
                "FieldValueForbidden",
                "Forbidden: signature labels cannot be set",
                "signatures[0].metadata.labels",
            ),
        ),
        (
            lambda s: s["metadata"].update(annotations={"a": "b"}),
            Cause(
                "FieldValueForbidden",
                "Forbidden: signature annotations cannot be set",
                "signatures[0].metadata.annotations",
            ),
        ),
        (
            lambda s: s.update(conditions=conditions("True")[:1]),
            Cause(
                "FieldValueInvalid",
                "Invalid value: '…': missing \"ForImage\" condition type",
                "signatures[0].conditions",
            ),
        ),
        (
            lambda s: s.update(conditions=conditions("True")[1:]),
            Cause(
                "FieldValueInvalid",
                "Invalid value: '…': missing \"Trusted\" condition type",
                "signatures[0].conditions",
            ),
        ),
        (
            lambda s: s.update(conditions=conditions("Unknown"), imageIdentity="r/x:1"),
            Cause(
                "FieldValueInvalid",
                "Invalid value: 'r/x:1': must be unset for unknown signature state",
                "signatures[0].imageIdentity",
            ),
        ),
        (
            lambda s: s.update(signedClaims={"k": "v"}),
            Cause(
                "FieldValueInvalid",
                "Invalid value: {'k': 'v'}: must be unset for unknown signature state",
                "signatures[0].signedClaims",
            ),
        ),
        (
            lambda s: s.update(issuedTo={"publicKeyID": "0x1"}),
            Cause(
                "FieldValueInvalid",
                "Invalid value: {'publicKeyID': '0x1'}: must be unset for unknown signature state",
                "signatures[0].issuedTo",
            ),
        ),
        (
            lambda s: s.update(type="other"),
            Cause(
                "FieldValueForbidden",
                "Forbidden: cannot change signature type",
                "signatures[0].type",
            ),
        ),
        (
            lambda s: s.update(content=base64.b64encode(b"other").decode()),
            Cause(
                "FieldValueForbidden",
                "Forbidden: cannot change signature content",
                "signatures[0].content",
            ),
        ),
    ],
    ids=[
        "name-without-at",
        "name-with-two-at",
        "labels",
        "annotations",
        "trusted-without-forimage",
        "forimage-without-trusted",
        "identity-when-unknown",
        "claims-without-trusted",
        "issuedto-without-trusted",
        "type-changed",
        "content-changed",
    ],
)
def test_update_validates_each_signature(store: ImageStore, change: Any, cause: Cause) -> None:
    error = _update_with(store, change)
    assert error.causes == (cause,)
    assert str(error).endswith(f"is invalid: {cause.field}: {cause.message}")


def test_update_requires_type_and_content(store: ImageStore) -> None:
    def change(sig: dict[str, Any]) -> None:
        del sig["type"]
        sig["content"] = ""
        sig["metadata"]["name"] = "new@one"  # a new signature: nothing immutable applies

    error = _update_with(store, change)
    assert error.causes == (
        Cause("FieldValueRequired", "Required value", "signatures[0].type"),
        Cause("FieldValueRequired", "Required value", "signatures[0].content"),
    )
    assert "is invalid: [signatures[0].type: Required value, " in str(error)


def test_claims_are_allowed_when_trusted_is_true_or_false(store: ImageStore) -> None:
    (read,) = _seed(store, "app")
    for status in ("True", "False"):
        sent = store.get_image(read["metadata"]["name"])
        sent["signatures"][0].update(
            conditions=conditions(status, when=f"2026-11-27T07:00:0{len(status)}Z"),
            imageIdentity="registry.example.com/demo/app:1",
            signedClaims={"creator": "x"},
            issuedBy={"organization": "o", "commonName": "c"},
            issuedTo={"organization": "o", "commonName": "c", "publicKeyID": "0xAB"},
            created="2026-11-20T10:00:00Z",
        )
        assert store.update_image(sent)["signatures"][0]["conditions"][0]["status"] == status


def test_a_condition_before_forimage_crashes_the_server_as_openshift_does(
    store: ImageStore,
) -> None:
    (read,) = _seed(store, "app")
    sent = copy.deepcopy(read)
    trusted, for_image = conditions("True")
    expired = dict(trusted, type="Expired", status="False")
    sent["signatures"][0]["conditions"] = [trusted, expired, for_image]
    with pytest.raises(ClusterServerError, match="nil pointer dereference") as caught:
        store.update_image(sent)
    assert caught.value.status == 500
    sent["signatures"][0]["conditions"] = [trusted, for_image, expired]
    assert store.update_image(sent)["signatures"][0]["conditions"][2]["type"] == "Expired"


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("signatures",), {}, "cannot unmarshal object into Go struct field Image.signatures"),
        (("signatures", 0, "content"), 5, "unmarshal number into Go struct field Image.signatures"),
        (("signatures", 0, "content"), "***", "illegal base64 data in Image.signatures[0].content"),
        (("signatures", 0, "conditions"), "x", "cannot unmarshal string"),
        (("signatures", 0, "created"), "yesterday", "parsing time 'yesterday'"),
        (("signatures", 0, "signedClaims"), {"a": 1}, "signedClaims.a of type string"),
        (("metadata", "name"), 7, "Image.metadata.name of type string"),
    ],
)
def test_update_rejects_undecodable_members_with_a_bad_request(
    store: ImageStore, path: tuple[Any, ...], value: Any, message: str
) -> None:
    (read,) = _seed(store, "app")
    target: Any = read
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(BadRequestError, match=message.replace("[", r"\[").replace("]", r"\]")):
        store.update_image(read, name=digest_of("app"))


# -- ImageStreamImage -----------------------------------------------------------------------


@pytest.fixture
def tagged(store: ImageStore) -> ImageStore:
    _seed(store, "v1", "v2", "other")
    store.put_object(
        stream(
            "demo",
            "app",
            {"latest": [digest_of("v2"), digest_of("v1")]},
            metadata={"name": "app", "namespace": "demo", "annotations": {"a": "b"}},
        )
    )
    return store


def test_imagestreamimage_resolves_a_tagged_digest(tagged: ImageStore) -> None:
    digest = digest_of("v1")
    isi = tagged.get_imagestreamimage("demo", f"app@{digest}")
    assert list(isi) == ["kind", "apiVersion", "metadata", "image"]
    assert isi["kind"] == "ImageStreamImage"
    assert isi["metadata"] == {
        "name": f"app@{digest}",
        "namespace": "demo",
        "creationTimestamp": "2026-11-27T07:00:00Z",
        "annotations": {"a": "b"},
    }
    stored = tagged.get_image(digest)
    expected = {k: v for k, v in stored.items() if k not in ("kind", "apiVersion")}
    del expected["dockerImageManifest"], expected["dockerImageConfig"]
    assert isi["image"] == expected  # signatures included, manifest and config blanked


@pytest.mark.parametrize("prefix", [digest_of("v2")[:20], digest_of("v2")[7:19]])
def test_imagestreamimage_matches_a_digest_prefix(tagged: ImageStore, prefix: str) -> None:
    isi = tagged.get_imagestreamimage("demo", f"app@{prefix}")
    assert isi["image"]["metadata"]["name"] == digest_of("v2")
    assert isi["metadata"]["name"] == f"app@{prefix}"


@pytest.mark.parametrize("name", ["app", "app@", "@sha256:x", "app@a@b", ""])
def test_imagestreamimage_bad_name_is_a_bad_request(tagged: ImageStore, name: str) -> None:
    with pytest.raises(
        BadRequestError, match=r"^ImageStreamImages must be retrieved with <name>@<id>$"
    ):
        tagged.get_imagestreamimage("demo", name)


def test_imagestreamimage_unknown_digest_stream_or_untagged_image(tagged: ImageStore) -> None:
    with pytest.raises(
        NotFoundError, match=r'^imagestreamimage.image.openshift.io "app@sha256:0" not found$'
    ):
        tagged.get_imagestreamimage("demo", "app@sha256:0")
    other = digest_of("other")  # stored, but not tagged into this stream
    with pytest.raises(NotFoundError, match="imagestreamimage"):
        tagged.get_imagestreamimage("demo", f"app@{other}")
    with pytest.raises(NotFoundError, match=r'imagestreams.image.openshift.io "nope" not found'):
        tagged.get_imagestreamimage("demo", f"nope@{other}")
    with pytest.raises(NotFoundError, match="imagestreams"):
        tagged.get_imagestreamimage("elsewhere", f"app@{digest_of('v1')}")


def test_imagestreamimage_resolves_a_sub_manifest_of_a_tagged_list(store: ImageStore) -> None:
    child = store.put_object(image("child"))
    store.put_object(
        image("list", dockerImageManifests=[{"digest": child["metadata"]["name"]}], signatures=0)
    )
    store.put_object(stream("demo", "multi", {"latest": [digest_of("list")]}))
    isi = store.get_imagestreamimage("demo", f"multi@{digest_of('child')}")
    assert isi["image"]["metadata"]["name"] == digest_of("child")


# -- ImageStreamTag -------------------------------------------------------------------------


def test_imagestreamtag_resolves_the_newest_tagged_image(tagged: ImageStore) -> None:
    istag = tagged.get_imagestreamtag("demo", "app:latest")
    assert istag["kind"] == "ImageStreamTag"
    assert istag["metadata"]["name"] == "app:latest"
    assert istag["image"]["metadata"]["name"] == digest_of("v2")
    assert istag["image"]["dockerImageReference"] == (
        f"registry.example.com/demo/app@{digest_of('v2')}"
    )
    assert "dockerImageManifest" not in istag["image"]
    assert istag["tag"] == {"name": "latest", "referencePolicy": {"type": "Source"}}
    assert istag["lookupPolicy"] == {"local": False}
    assert istag["generation"] == 1


def test_imagestreamtag_local_reference_policy(store: ImageStore) -> None:
    _seed(store, "v1")
    body = stream("demo", "app", {"latest": [digest_of("v1")]})
    body["spec"]["tags"][0]["referencePolicy"]["type"] = "Local"
    store.put_object(body)
    istag = store.get_imagestreamtag("demo", "app:latest")
    assert istag["image"]["dockerImageReference"] == (
        f"image-registry.local:5000/demo/app@{digest_of('v1')}"
    )


def test_imagestreamtag_errors(tagged: ImageStore) -> None:
    with pytest.raises(
        BadRequestError, match=r"^ImageStreamTags must be retrieved with <name>:<tag>$"
    ):
        tagged.get_imagestreamtag("demo", "app")
    with pytest.raises(
        NotFoundError, match=r'imagestreamtags.image.openshift.io "app:v9" not found'
    ):
        tagged.get_imagestreamtag("demo", "app:v9")


# -- lists ----------------------------------------------------------------------------------


def test_list_pagination_visits_every_image_once_in_name_order(store: ImageStore) -> None:
    names = sorted(o["metadata"]["name"] for o in _seed(store, *"abcde"))
    seen: list[str] = []
    token = None
    pages = 0
    for _ in range(10):
        items, token = store.list_images(limit=2, continue_token=token)
        pages += 1
        seen.extend(i["metadata"]["name"] for i in items)
        if token is None:
            break
    assert seen == names
    assert pages == 3
    items, token = store.list_images()
    assert [i["metadata"]["name"] for i in items] == names and token is None


def test_list_metadata_and_bad_tokens(store: ImageStore) -> None:
    _seed(store, *"abc")
    items, token, meta = store.list_page("Image", None, 1, None)
    assert len(items) == 1 and meta["continue"] == token and meta["remainingItemCount"] == 2
    assert meta["resourceVersion"] == "1003"
    with pytest.raises(BadRequestError, match="continue key is not valid"):
        store.list_images(limit=1, continue_token="not-a-token")


def test_list_imagestreams_by_namespace(store: ImageStore) -> None:
    for namespace, name in [("b", "x"), ("a", "y"), ("a", "x")]:
        store.put_object(stream(namespace, name, {}))
    items, _ = store.list_imagestreams()
    assert [(i["metadata"]["namespace"], i["metadata"]["name"]) for i in items] == [
        ("a", "x"),
        ("a", "y"),
        ("b", "x"),
    ]
    items, _ = store.list_imagestreams("a", limit=1)
    assert [i["metadata"]["name"] for i in items] == ["x"]


# -- imagesignatures ------------------------------------------------------------------------


def test_add_signature_clears_conditions_and_claims(store: ImageStore) -> None:
    (read,) = _seed(store, "app")
    name = read["metadata"]["name"]
    sent = signature(
        name,
        "added",
        conditions=conditions("True"),
        imageIdentity="x",
        signedClaims={"a": "b"},
        issuedBy={"commonName": "c"},
        issuedTo={"publicKeyID": "0x1"},
        created="2026-01-01T00:00:00Z",
    )
    created = store.add_signature(sent)
    assert created["kind"] == "ImageSignature"
    for key in ("conditions", "imageIdentity", "signedClaims", "issuedBy", "issuedTo", "created"):
        assert key not in created
    after = store.get_image(name)
    assert after["metadata"]["resourceVersion"] == "1002"
    assert after["signatures"][-1]["metadata"]["name"] == f"{name}@added"
    assert after["signatures"][:-1] == read["signatures"]


def test_add_signature_refuses_a_duplicate_name_or_blob(store: ImageStore) -> None:
    (read,) = _seed(store, "app")
    name = read["metadata"]["name"]
    existing = read["signatures"][0]
    with pytest.raises(AlreadyExistsError, match=f'"{name}@sig0" already exists'):
        store.add_signature(signature(name, "sig0", blob=b"new"))
    with pytest.raises(AlreadyExistsError):
        store.add_signature(signature(name, "fresh", blob=base64.b64decode(existing["content"])))
    assert isinstance(AlreadyExistsError("x"), ConflictError)


def test_add_signature_errors(store: ImageStore) -> None:
    with pytest.raises(InvalidObjectError, match="name must be of format"):
        store.add_signature(signature("x", "y") | {"metadata": {"name": "noat"}})
    with pytest.raises(NotFoundError, match=r'images.image.openshift.io "sha256:none"'):
        store.add_signature(signature("sha256:none", "y"))
    with pytest.raises(InvalidObjectError, match="content: Required value"):
        store.add_signature(signature("x", "y", blob=b""))


def test_delete_signature(store: ImageStore) -> None:
    store.put_object(image("app", signatures=2))
    name = digest_of("app")
    store.delete_signature(f"{name}@sig0")
    assert [s["metadata"]["name"] for s in store.get_image(name)["signatures"]] == [f"{name}@sig1"]
    with pytest.raises(NotFoundError, match=r'imageSignatures.image.openshift.io "'):
        store.delete_signature(f"{name}@sig0")
    with pytest.raises(BadRequestError, match="must be accessed with <imageName>@<signatureName>"):
        store.delete_signature("no-at")


# -- several processes ----------------------------------------------------------------------


def _add_signatures(path: str, worker: int, count: int) -> None:
    store = ImageStore(path)
    name = digest_of("shared")
    for i in range(count):
        store.add_signature(signature(name, f"w{worker}-{i}"))


@pytest.mark.slow
def test_writers_in_several_processes_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    ImageStore(path).put_object(image("shared", signatures=0))
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_add_signatures, args=(str(path), w, 8)) for w in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    got = ImageStore(path).get_image(digest_of("shared"))
    names = sorted(s["metadata"]["name"].rpartition("@")[2] for s in got["signatures"])
    assert names == sorted(f"w{w}-{i}" for w in range(2) for i in range(8))
    assert got["metadata"]["resourceVersion"] == str(1001 + 16)
