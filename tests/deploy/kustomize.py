"""Rendering deploy/'s kustomize layers: with ``kubectl kustomize`` when it can, else with a
small subset of kustomize, written here, that is checked against kubectl where both run.

scripts/bootstrap installs Debian's ``kubernetes-client`` (kubectl 1.20, kustomize v2.0.3)
when no kubectl is on the machine. That kustomize renders the two install layers but not
``components`` (kustomize ≥ 3.7), so the optional monitoring component is rendered by the
subset when kubectl's kustomize is too old for it.

The subset does what deploy/ uses and nothing else, and refuses anything more: ``resources``
(files, or folders holding a kustomization), ``components`` (``kind: Component``) and
``images`` (``name`` with ``newName``, ``newTag``, ``digest``), applied to the ``image`` of
containers and init containers in pod templates, CronJob templates and Pods.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

Doc = dict[str, Any]

_KNOWN = {"apiVersion", "kind", "resources", "components", "images"}


def kubectl_kustomize(folder: Path) -> list[Doc] | None:
    """``kubectl kustomize folder`` parsed, or ``None`` when kubectl is absent or cannot."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        return None
    done = subprocess.run(
        [kubectl, "kustomize", str(folder)], capture_output=True, text=True, timeout=120
    )
    if done.returncode != 0:
        return None
    return [d for d in yaml.safe_load_all(done.stdout) if d is not None]


def render(folder: Path) -> list[Doc]:
    """The objects of the kustomization in ``folder``, by the subset."""
    return _build(folder, kind="Kustomization")


def _build(folder: Path, *, kind: str) -> list[Doc]:
    kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text())
    unknown = set(kustomization) - _KNOWN
    assert not unknown, f"the kustomize subset does not know {sorted(unknown)} ({folder})"
    assert kustomization["kind"] == kind, folder
    docs: list[Doc] = []
    for entry in kustomization.get("resources", []):
        path = folder / entry
        if path.is_dir():
            docs.extend(_build(path, kind="Kustomization"))
        else:
            docs.extend(d for d in yaml.safe_load_all(path.read_text()) if d is not None)
    for entry in kustomization.get("components", []):
        docs.extend(_build(folder / entry, kind="Component"))
    for image in kustomization.get("images", []):
        for doc in docs:
            for container in containers(doc):
                container["image"] = _set_image(container["image"], image)
    return docs


def containers(doc: Doc) -> list[Doc]:
    spec = doc.get("spec", {})
    if doc["kind"] == "CronJob":
        pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    elif doc["kind"] == "Pod":
        pod = spec
    elif "template" in spec:
        pod = spec["template"]["spec"]
    else:
        return []
    return [*pod.get("initContainers", []), *pod["containers"]]


def _set_image(current: str, rule: Doc) -> str:
    assert set(rule) <= {"name", "newName", "newTag", "digest"}, rule
    name, separator, _ = current.partition("@")
    if not separator:
        last_slash = name.rfind("/")
        colon = name.rfind(":")
        if colon > last_slash:
            name = name[:colon]
    if name != rule["name"]:
        return current
    new = rule.get("newName", name)
    if "digest" in rule:
        return f"{new}@{rule['digest']}"
    if "newTag" in rule:
        return f"{new}:{rule['newTag']}"
    return current.replace(name, new, 1)
