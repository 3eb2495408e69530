"""The admission webhook backend: allow or deny workloads by their images' signatures.

``review`` parses AdmissionReviews; ``workloads`` finds every container image of a Pod or a
pod-template owner; ``resolve`` maps an image string to the Image whose signatures decide;
``modes`` picks enforce/warn/audit and exemptions; ``cache`` keeps verdicts; ``decide`` builds
the answer; ``controller`` runs it all under a deadline; ``blueprint`` is the HTTP face.
"""

from __future__ import annotations

from sigverify.admission.blueprint import create_admission_blueprint, init_app
from sigverify.admission.controller import AdmissionController
from sigverify.policyfile.admission import (
    AdmissionConfig,
    Mode,
    UnpinnedTags,
    load_admission_config,
    parse_admission_config,
)

__all__ = [
    "AdmissionConfig",
    "AdmissionController",
    "Mode",
    "UnpinnedTags",
    "create_admission_blueprint",
    "init_app",
    "load_admission_config",
    "parse_admission_config",
]
