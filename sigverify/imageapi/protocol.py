"""The ``ImageAPI`` protocol: what sigverify needs from an OpenShift image API.

Objects cross this boundary as the raw JSON dicts the server sent (lossless: unknown members
kept), so that an Image read, changed on purpose and written back loses nothing. Callers turn
them into typed models with :func:`sigverify.objects.documents.image_of` (``answer_to=`` the
kind asked for).

Errors are the classes of :mod:`sigverify.imageapi.errors`: ``NotFoundError`` (404),
``ConflictError`` (409, a stale ``resourceVersion``), ``InvalidObjectError`` (422), and one
class each for unreachable, timeout, 401, 403 and 5xx.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

__all__ = ["CountedImageList", "CountedPage", "ImageAPI", "JSONObject", "Page"]

#: A JSON object as decoded by :mod:`json` (member order kept).
JSONObject = dict[str, Any]
#: One page of a list: the items and the ``continue`` token of the next page (None at the end).
Page = tuple[list[JSONObject], str | None]
#: A page with the list's ``metadata.remainingItemCount`` (None when the server did not say).
CountedPage = tuple[list[JSONObject], str | None, int | None]


@runtime_checkable
class ImageAPI(Protocol):
    """Read images and image streams; update an Image under optimistic concurrency."""

    def get_imagestreamimage(self, namespace: str, name: str) -> JSONObject:
        """``GET …/namespaces/{namespace}/imagestreamimages/{stream}@{digest}``."""
        ...

    def get_image(self, name: str) -> JSONObject:
        """``GET /apis/image.openshift.io/v1/images/{name}``."""
        ...

    def list_images(self, limit: int | None = None, continue_token: str | None = None) -> Page:
        """One page of ``GET /apis/image.openshift.io/v1/images?limit=&continue=``."""
        ...

    def list_imagestreams(
        self,
        namespace: str | None = None,
        limit: int | None = None,
        continue_token: str | None = None,
    ) -> Page:
        """One page of ImageStreams in ``namespace`` (all namespaces when None)."""
        ...

    def get_imagestreamtag(self, namespace: str, name: str) -> JSONObject:
        """``GET …/namespaces/{namespace}/imagestreamtags/{stream}:{tag}``."""
        ...

    def update_image(self, image: JSONObject) -> JSONObject:
        """``PUT …/images/{name}`` with the ``resourceVersion`` read; returns the stored Image.

        Raises ``ConflictError`` when the Image changed since it was read.
        """
        ...

    def ping(self) -> None:
        """Raise a ``ClusterError`` when the API cannot be reached (for readiness checks)."""
        ...


@runtime_checkable
class CountedImageList(Protocol):
    """An image API whose Image list says how many Images are left (``remainingItemCount``,
    as kube-apiserver answers a paged list): an audit's progress line can show a total."""

    def list_images_counted(
        self, limit: int | None = None, continue_token: str | None = None
    ) -> CountedPage:
        """:meth:`ImageAPI.list_images` with the count of Images after this page."""
        ...
