"""The one place that chooses and opens the image API: a cluster, or the embedded store."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from sigverify.errors import InputError
from sigverify.imageapi.options import ClusterOptions, ImageSource
from sigverify.imageapi.protocol import ImageAPI

__all__ = ["ImageAPISettings", "image_source", "open_image_api"]


class ImageAPISettings(Protocol):
    """The settings the choice reads (:class:`sigverify.settings.Settings` has them)."""

    @property
    def store(self) -> str: ...
    @property
    def kubeconfig(self) -> str | None: ...
    @property
    def context(self) -> str | None: ...
    @property
    def server(self) -> str | None: ...
    @property
    def token(self) -> str | None: ...
    @property
    def token_file(self) -> str | None: ...
    @property
    def ca_file(self) -> str | None: ...
    @property
    def insecure_skip_tls_verify(self) -> bool: ...
    @property
    def in_cluster(self) -> bool: ...
    @property
    def api_timeout_seconds(self) -> float: ...
    @property
    def api_connect_timeout_seconds(self) -> float: ...
    @property
    def uses_cluster(self) -> bool: ...


def image_source(settings: ImageAPISettings) -> ImageSource:
    """The cluster the settings name, else their embedded store file."""
    if not settings.uses_cluster:
        history = getattr(settings, "store_history", None)
        return ImageSource(store=settings.store, create_store=True, history=history)
    token, ca_file = settings.token, settings.ca_file
    bare = not (token or settings.token_file or ca_file or settings.kubeconfig)
    if bare and settings.server and settings.server.startswith("https://"):
        # ``--server`` naming a ``sigverify serve`` (its store REST) on this account: its
        # generated admin token, which goes only to a server its own CA certified.
        from sigverify.authn.statedir import client_credentials

        found = client_credentials(None, folder=getattr(settings, "state_dir", None))
        if found.ca_only and found.ca_file is not None:
            token, ca_file = found.token, str(found.ca_file)
    return ImageSource(
        cluster=ClusterOptions(
            kubeconfig=settings.kubeconfig,
            context=settings.context,
            server=settings.server,
            token=token,
            token_file=settings.token_file,
            ca_file=ca_file,
            insecure_skip_tls_verify=settings.insecure_skip_tls_verify,
            in_cluster=settings.in_cluster,
            timeout=settings.api_timeout_seconds,
            connect_timeout=settings.api_connect_timeout_seconds,
        )
    )


def open_image_api(source: ImageSource) -> ImageAPI:
    """Open the source; only the adapter it names is imported (kubernetes is heavy)."""
    if source.cluster is not None:
        from sigverify.imageapi.openshift import connect

        return connect(source.cluster)
    assert source.store is not None
    from sigverify.imageapi.store.image_store import ImageStore

    if not source.create_store and not Path(source.store).is_file():
        raise InputError(f"no embedded store at {source.store}: the file does not exist")

    return ImageStore(source.store, history=source.history)
