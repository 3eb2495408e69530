"""image_of: the one way every face and the write-back get the Image of a document."""

from __future__ import annotations

from typing import Any

import pytest

from sigverify.errors import ClusterError, InputError
from sigverify.objects.documents import (
    DocumentError,
    UpstreamDocumentError,
    image_of,
    load_document,
)
from sigverify.objects.types import Image, ImageStreamImage

DIGEST = "sha256:" + "ab" * 32
IMAGE: dict[str, Any] = {"kind": "Image", "metadata": {"name": DIGEST}}
STREAM_IMAGE: dict[str, Any] = {
    "kind": "ImageStreamImage",
    "metadata": {"name": f"app@{DIGEST}", "namespace": "demo"},
    "image": {"metadata": {"name": DIGEST}},
}
UNREADABLE: dict[str, Any] = {"kind": "Image", "metadata": {"name": DIGEST}, "signatures": 5}


@pytest.mark.parametrize("document", [IMAGE, STREAM_IMAGE], ids=["Image", "ImageStreamImage"])
def test_input_of_either_kind_gives_its_image(document: dict[str, Any]) -> None:
    image = image_of(document)
    assert isinstance(image, Image)
    assert image.name == DIGEST
    # An object already loaded gives the same Image.
    assert image_of(load_document(document)) == image


def test_an_answer_of_the_kind_asked_for_gives_its_image() -> None:
    assert image_of(IMAGE, answer_to="Image").name == DIGEST
    assert image_of(STREAM_IMAGE, answer_to="ImageStreamImage").name == DIGEST
    loaded = load_document(STREAM_IMAGE)
    assert isinstance(loaded, ImageStreamImage)
    assert image_of(loaded, answer_to="ImageStreamImage") is loaded.image


def test_unreadable_input_is_the_callers_document_error() -> None:
    with pytest.raises(DocumentError, match=r"^signatures: "):
        image_of(UNREADABLE)


def test_an_unreadable_answer_is_the_image_apis_fault() -> None:
    with pytest.raises(UpstreamDocumentError) as caught:
        image_of(UNREADABLE, answer_to="Image")
    assert isinstance(caught.value, ClusterError)
    assert not isinstance(caught.value, InputError)
    assert str(caught.value).startswith(
        "the image API answered with an Image sigverify cannot read: signatures: "
    )


@pytest.mark.parametrize(
    ("document", "asked", "answered"),
    [(IMAGE, "ImageStreamImage", "Image"), (STREAM_IMAGE, "Image", "ImageStreamImage")],
)
def test_an_answer_of_another_kind_is_the_image_apis_fault(
    document: dict[str, Any], asked: Any, answered: str
) -> None:
    with pytest.raises(UpstreamDocumentError) as caught:
        image_of(document, answer_to=asked)
    assert str(caught.value) == (
        f"the image API answered a request for an {asked} with an {answered}"
    )
