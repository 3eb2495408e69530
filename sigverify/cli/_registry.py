"""Registry mode of ``sigverify verify``: ``docker://HOST[:PORT]/REPO@DIGEST`` or ``…:TAG``.

The manifest is fetched and hashed (no manifest: exit 2, one line), the signatures of its
digest are gathered from the lookaside store registries.d names and from the registry's
signatures extension, and the one engine decides. Each signature names its source; a source
that failed is named in the verdict (``sources[]``), never counted as a trust.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import replace
from pathlib import Path
from typing import Any

from sigverify.cli._common import build_verifier
from sigverify.cli._registry_options import TRANSPORT, registry_options
from sigverify.errors import NotFoundError
from sigverify.imageapi.protocol import ImageAPI, JSONObject, Page
from sigverify.limits import MAX_SIGNATURE_BLOB_BYTES
from sigverify.render import verdict_to_json
from sigverify.sources import (
    SOURCE_IMAGE,
    SourceOptions,
    fetch_image,
    label_sources,
    parse_pull_spec,
)
from sigverify.writeback.writer import ConditionWriter, verification_body

__all__ = [
    "TRANSPORT",
    "record_pull_spec",
    "registry_options",
    "source_options",
    "sources_text",
    "verify_pull_spec",
]


def source_options(
    registries_d: str | None,
    authfile: str | None,
    tls_verify: bool,
    cert_dir: str | None,
    timeout: float,
) -> SourceOptions:
    """The registry flags as :class:`SourceOptions` (``--timeout`` bounds the whole lookup)."""
    return SourceOptions(
        registries_d=Path(registries_d) if registries_d else None,
        authfile=authfile,
        tls_verify=tls_verify,
        cert_dir=Path(cert_dir) if cert_dir else None,
        timeout=timeout,
        deadline=timeout,
    )


def verify_pull_spec(
    pull_spec: str,
    policy: str,
    keys: str | None,
    backend: str,
    expected_identity: str | None,
    *,
    registries_d: str | None,
    authfile: str | None,
    tls_verify: bool,
    cert_dir: str | None,
    timeout: float,
) -> dict[str, Any]:
    """The JSON verdict of the image ``pull_spec`` names, with its sources."""
    reference = parse_pull_spec(pull_spec)
    verifier = build_verifier(policy, keys, backend)
    try:
        fetched = fetch_image(
            reference, source_options(registries_d, authfile, tls_verify, cert_dir, timeout)
        )
        verdict = verifier.verify_image(
            fetched.image, expected_identity=expected_identity or fetched.identity
        )
    finally:
        verifier.backend.close()
    body = verdict_to_json(label_sources(verdict, fetched.sources))
    body["digestReference"] = fetched.by_digest
    body["mediaType"] = fetched.media_type
    body["sources"] = [report.to_json() for report in fetched.reports]
    return body


def sources_text(body: dict[str, Any]) -> str:
    """The sources read, for the text report (after the verdict's own lines)."""
    reports = body.get("sources")
    if not isinstance(reports, list):
        return ""
    lines = ["", f"  manifest: {body.get('digestReference')} ({body.get('mediaType')})"]
    for report in reports:
        outcome = (
            f"error: {report['error']}"
            if report.get("error")
            else f"{report.get('signatures')} signature(s)"
        )
        lines.append(f"  source {report.get('source')} ({report.get('location')}): {outcome}")
    return "\n".join(lines) + "\n"


class _AddingSignatures:
    """The image API, with the signatures found in a registry added to the Image as it is
    read, so that the condition writer's PUT stores them (as OpenShift's importer does for
    registries with the signatures API) with their conditions, nothing else touched."""

    def __init__(self, api: ImageAPI, digest: str, found: list[tuple[str, bytes]]) -> None:
        self._api = api
        self._digest = digest
        self._found = found  # (the name the source gave it, content)
        self.added: dict[str, str] = {}  # name on the Image → the name the source gave it

    def get_image(self, name: str) -> JSONObject:
        document = self._api.get_image(name)
        if name != self._digest:
            return document
        signatures = document.get("signatures")
        if signatures is None:
            signatures = document["signatures"] = []
        if not isinstance(signatures, list):
            return document  # the writer refuses the Image as it is
        present = {s.get("content") for s in signatures if isinstance(s, dict)}
        for found_name, content in self._found:
            text = base64.b64encode(content).decode("ascii")
            if text in present:
                continue
            name_on_image = f"{self._digest}@{hashlib.sha256(content).hexdigest()[:32]}"
            signatures.append(
                {"metadata": {"name": name_on_image}, "type": "atomic", "content": text}
            )
            present.add(text)
            self.added[name_on_image] = found_name
        return document

    def update_image(self, image: JSONObject) -> JSONObject:
        return self._api.update_image(image)

    def get_imagestreamimage(self, namespace: str, name: str) -> JSONObject:
        return self._api.get_imagestreamimage(namespace, name)

    def list_images(self, limit: int | None = None, continue_token: str | None = None) -> Page:
        return self._api.list_images(limit, continue_token)

    def list_imagestreams(
        self,
        namespace: str | None = None,
        limit: int | None = None,
        continue_token: str | None = None,
    ) -> Page:
        return self._api.list_imagestreams(namespace, limit, continue_token)

    def get_imagestreamtag(self, namespace: str, name: str) -> JSONObject:
        return self._api.get_imagestreamtag(namespace, name)

    def ping(self) -> None:
        self._api.ping()


def record_pull_spec(
    pull_spec: str,
    policy: str,
    keys: str | None,
    backend: str,
    expected_identity: str | None,
    *,
    api: ImageAPI,
    options: SourceOptions,
) -> dict[str, Any]:
    """Verify the image ``pull_spec`` names and record its registry signatures (and every
    signature's conditions) on the cluster's Image of that digest."""
    reference = parse_pull_spec(pull_spec)
    verifier = build_verifier(policy, keys, backend)
    try:
        fetched = fetch_image(reference, options)
        # A blob over the size limit was read only in part: never written anywhere.
        found = [
            (s.name, s.content)
            for s in fetched.image.signatures
            if len(s.content) <= MAX_SIGNATURE_BLOB_BYTES
        ]
        adding = _AddingSignatures(api, fetched.digest, found)
        try:
            recorded = ConditionWriter(adding, verifier).record(
                fetched.digest, expected_identity=expected_identity or fetched.identity
            )
        except NotFoundError as exc:
            raise NotFoundError(
                f"the cluster has no Image {fetched.digest} to record the signatures on "
                "(import the image first)"
            ) from exc
    finally:
        verifier.backend.close()
    sources = {
        s.name: fetched.sources.get(adding.added.get(s.name, ""), SOURCE_IMAGE)
        for s in recorded.verdict.signatures
    }
    body = verification_body(replace(recorded, verdict=label_sources(recorded.verdict, sources)))
    body["digestReference"] = fetched.by_digest
    body["mediaType"] = fetched.media_type
    body["sources"] = [report.to_json() for report in fetched.reports]
    return body
