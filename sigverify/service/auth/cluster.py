"""Cluster mode: tokens checked with ``TokenReview``, requests with ``SubjectAccessReview``,
against the API server the image API talks to (sigverify's own credentials)."""

from __future__ import annotations

from sigverify.authn.kube import NonResourceAttributes, ResourceAttributes, Reviews
from sigverify.authn.users import User
from sigverify.service.auth.needs import Attributes, Need, NonResource
from sigverify.settings import Settings

__all__ = ["ClusterAuth", "cluster_auth"]


def _attributes(attributes: Attributes) -> ResourceAttributes | NonResourceAttributes:
    if isinstance(attributes, NonResource):
        return NonResourceAttributes(attributes.verb, attributes.path)
    return ResourceAttributes(
        attributes.verb,
        attributes.group,
        attributes.resource,
        attributes.namespace,
        attributes.name,
    )


class ClusterAuth:
    """Both halves of the check, through one :class:`Reviews`."""

    def __init__(self, reviews: Reviews) -> None:
        self._reviews = reviews

    def authenticate(self, token: str) -> User | None:
        return self._reviews.authenticate(token)

    def allowed(self, user: User, need: Need) -> bool:
        # Every group needs one allowed alternative; an empty need: any authenticated user.
        return all(
            any(self._reviews.allowed(user, _attributes(a)) for a in group) for group in need.all_of
        )


def cluster_auth(settings: Settings) -> tuple[ClusterAuth, ClusterAuth]:
    """Reviews against the cluster the settings name (the image API's own connection)."""
    from sigverify.imageapi.factory import image_source
    from sigverify.imageapi.openshift import connect

    source = image_source(settings)
    assert source.cluster is not None
    reviews = Reviews(connect(source.cluster), cache_seconds=settings.auth_cache_seconds)
    auth = ClusterAuth(reviews)
    return auth, auth
