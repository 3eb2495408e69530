"""Where the image API is: an OpenShift cluster (how to reach it), or an embedded store file.

Plain data, importable without the ``kubernetes`` client: only :func:`open_image_api` in
:mod:`sigverify.imageapi.factory` imports the adapter it opens.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT_SECONDS",
    "DEFAULT_TIMEOUT_SECONDS",
    "ClusterOptions",
    "ImageSource",
]

#: Seconds to wait for a TCP/TLS connection to the API server.
DEFAULT_CONNECT_TIMEOUT_SECONDS = 5.0
#: Seconds to wait for the answer to one request.
DEFAULT_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class ClusterOptions:
    """How to reach a cluster. The first that applies wins: ``server`` (+ ``token``), then
    ``in_cluster`` (or no kubeconfig and ``KUBERNETES_SERVICE_HOST`` set), then the kubeconfig
    (``kubeconfig`` or ``$KUBECONFIG`` or ``~/.kube/config``) and its ``context``."""

    kubeconfig: str | None = None
    context: str | None = None
    server: str | None = None
    token: str | None = None
    token_file: str | None = None
    ca_file: str | None = None
    insecure_skip_tls_verify: bool = False
    in_cluster: bool = False
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_SECONDS


@dataclass(frozen=True)
class ImageSource:
    """Exactly one of: a cluster to reach, or an embedded store file to open."""

    cluster: ClusterOptions | None = None
    store: str | None = None
    #: Create the store file when it is missing (the service and the reconciler); a reader
    #: (``verify --store``, ``audit --store``) never does: a mistyped path is an error.
    create_store: bool = False
    #: How many changes the store file keeps for watches (None: as the file says).
    history: int | None = None

    def __post_init__(self) -> None:
        if (self.cluster is None) == (self.store is None):
            raise ValueError("an ImageSource is either a cluster or a store file")

    @property
    def kind(self) -> str:
        """``"openshift"`` or ``"embedded"``, as the service reports it."""
        return "openshift" if self.cluster is not None else "embedded"
