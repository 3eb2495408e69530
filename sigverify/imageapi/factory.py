"""The image API the settings name: an OpenShift cluster, or the embedded store."""

from __future__ import annotations

from sigverify.imageapi.openshift import ClusterOptions, connect
from sigverify.imageapi.protocol import ImageAPI
from sigverify.imageapi.store.image_store import ImageStore
from sigverify.settings import Settings

__all__ = ["cluster_options", "image_api_from_settings"]


def cluster_options(settings: Settings) -> ClusterOptions:
    return ClusterOptions(
        kubeconfig=settings.kubeconfig,
        context=settings.context,
        server=settings.server,
        token=settings.token,
        token_file=settings.token_file,
        ca_file=settings.ca_file,
        insecure_skip_tls_verify=settings.insecure_skip_tls_verify,
        in_cluster=settings.in_cluster,
        timeout=settings.api_timeout_seconds,
        connect_timeout=settings.api_connect_timeout_seconds,
    )


def image_api_from_settings(settings: Settings) -> tuple[ImageAPI, str]:
    """The image API and its kind (``"openshift"`` or ``"embedded"``)."""
    if settings.uses_cluster:
        return connect(cluster_options(settings)), "openshift"
    return ImageStore(settings.store), "embedded"
