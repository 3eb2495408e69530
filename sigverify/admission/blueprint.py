"""HTTP face of the admission webhook: ``POST /admission/validate`` and ``/admission/mutate``.

Each takes an ``admission.k8s.io/v1`` AdmissionReview and answers one with the same ``uid``.
A body that is not such a review gets HTTP 400 with a JSON error (there is no ``uid`` to
answer), one over the size limit 413, chunked or not; a review whose object cannot be read is
*denied* (``allowed: false``, code 400).
Its metrics are on the service's one ``GET /metrics`` (sigverify.admission.metrics).
"""

from __future__ import annotations

import json

from flask import Blueprint, Flask, Response, request

from sigverify.admission.controller import AdmissionController
from sigverify.admission.review import MAX_REVIEW_BYTES, parse_review, review_response
from sigverify.errors import InputError
from sigverify.http_body import BodyTooLarge, check_declared_length, read_body

__all__ = ["EXTENSION", "create_admission_blueprint", "init_app"]

#: Key of the controller in ``app.extensions``.
EXTENSION = "sigverify.admission"


def _json(document: object, status: int = 200) -> Response:
    return Response(
        json.dumps(document, separators=(",", ":")), status=status, mimetype="application/json"
    )


def _bad_request(message: str, status: int = 400) -> Response:
    phrase = {400: "Bad Request", 413: "Payload Too Large", 415: "Unsupported Media Type"}
    return _json(
        {"code": status, "status": phrase.get(status, "Bad Request"), "message": message},
        status,
    )


def create_admission_blueprint(controller: AdmissionController) -> Blueprint:
    """The admission endpoints, bound to ``controller``."""
    blueprint = Blueprint("admission", __name__, url_prefix="/admission")

    def review(webhook: str) -> Response:
        try:
            check_declared_length(MAX_REVIEW_BYTES)
            if request.mimetype != "application/json":
                return _bad_request("the body must be application/json", 415)
            admission = parse_review(read_body(MAX_REVIEW_BYTES))
        except BodyTooLarge as exc:
            return _bad_request(str(exc), 413)
        except InputError as exc:
            return _bad_request(str(exc))
        if webhook == "validate":
            decision = controller.validate(admission)
        else:
            decision = controller.mutate(admission)
        return _json(review_response(decision.response))

    @blueprint.post("/validate")
    def validate() -> Response:
        return review("validate")

    @blueprint.post("/mutate")
    def mutate() -> Response:
        return review("mutate")

    return blueprint


def init_app(app: Flask, controller: AdmissionController) -> None:
    """Register the admission endpoints on ``app`` and keep ``controller`` in its extensions."""
    app.extensions[EXTENSION] = controller
    app.register_blueprint(create_admission_blueprint(controller))
