"""The dependency rules of docs/architecture.md, checked on the source.

Every import statement of the package counts (inside functions and ``TYPE_CHECKING`` blocks
too): a rule that only holds at run time is a rule someone will break by accident.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "sigverify"

#: The faces: what a user or another program calls. None imports another...
FACES = frozenset({"cli", "service", "admission"})
#: ...except at the composition roots: `sigverify serve` starts the service, and the
#: service's app factory mounts the admission webhook.
COMPOSITION_ROOTS = frozenset(
    {("sigverify.cli.serve", "service"), ("sigverify.service.app", "admission")}
)
#: Libraries the pure core must not touch: frameworks, and anything that does I/O.
NOT_IN_CORE = frozenset(
    {
        "flask",
        "marshmallow",
        "kubernetes",
        "urllib3",
        "gnupg",
        "click",
        "gunicorn",
        "prometheus_client",
        "os",
        "io",
        "pathlib",
        "shutil",
        "tempfile",
        "subprocess",
        "socket",
        "sqlite3",
        "urllib",
        "http",
        "threading",
        "logging",
    }
)
#: What the core may import of the project: itself, the leaf modules, the plain types.
CORE_MAY_IMPORT = frozenset(
    {"sigverify.errors", "sigverify.limits", "sigverify.strict_input", "sigverify.objects.types"}
)
#: Packages the engine may import: the domain, and the OpenPGP adapter behind its protocol.
ENGINE_MAY_IMPORT = frozenset({"core", "errors", "limits", "objects", "openpgp", "engine"})
#: Adapters: they touch the world for the engine and the faces, and know no face.
ADAPTERS = frozenset({"openpgp", "imageapi", "objects", "policyfile", "sources", "authn"})


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> list[tuple[int, str]]:
    """Every module ``path`` imports, absolute, with the line that imports it."""
    found: list[tuple[int, str]] = []
    package = (
        module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else module_name(path)
    )
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.append((node.lineno, base))
            if base in ("sigverify", *(f"sigverify.{p}" for p in FACES | ADAPTERS)):
                # ``from sigverify import x`` imports the module sigverify.x
                found.extend((node.lineno, f"{base}.{alias.name}") for alias in node.names)
    return found


def all_imports() -> list[tuple[str, str, str]]:
    """(module, where, imported module) for every import in the package."""
    rows = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = module_name(path)
        for line, imported in imports_of(path):
            rows.append((module, f"{path.relative_to(PACKAGE.parent)}:{line}", imported))
    return rows


def package_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "sigverify" and len(parts) > 1 else None


IMPORTS = all_imports()


def test_the_rules_see_the_imports() -> None:
    # The checker itself: it must find the imports the rules are about, or every rule passes.
    pairs = {(module, imported) for module, _, imported in IMPORTS}
    assert ("sigverify.engine.verifier", "sigverify.core.policy") in pairs
    assert ("sigverify.service.app", "sigverify.admission.blueprint") in pairs
    assert ("sigverify.cli.serve", "sigverify.service.server") in pairs  # inside a function
    assert len(IMPORTS) > 300


def test_no_face_imports_another_face() -> None:
    wrong = [
        f"{where}: {module} imports {imported}"
        for module, where, imported in IMPORTS
        if package_of(module) in FACES
        and package_of(imported) in FACES
        and package_of(imported) != package_of(module)
        and (module, package_of(imported)) not in COMPOSITION_ROOTS
    ]
    assert wrong == []


def test_the_core_is_pure() -> None:
    wrong = []
    for module, where, imported in IMPORTS:
        if package_of(module) != "core":
            continue
        top = imported.split(".")[0]
        if top in NOT_IN_CORE or (
            top == "sigverify"
            and package_of(imported) != "core"
            and imported not in CORE_MAY_IMPORT
        ):
            wrong.append(f"{where}: the core imports {imported}")
    assert wrong == []


def test_errors_is_a_leaf() -> None:
    wrong = [
        f"{where}: {imported}"
        for module, where, imported in IMPORTS
        if module == "sigverify.errors" and imported.split(".")[0] == "sigverify"
    ]
    assert wrong == []


def test_the_engine_depends_only_on_the_domain_and_the_backend_protocol() -> None:
    wrong = [
        f"{where}: {imported}"
        for module, where, imported in IMPORTS
        if package_of(module) == "engine"
        and imported.startswith("sigverify.")
        and package_of(imported) not in ENGINE_MAY_IMPORT
    ]
    assert wrong == []


def test_adapters_know_no_face() -> None:
    wrong = [
        f"{where}: {module} imports {imported}"
        for module, where, imported in IMPORTS
        if package_of(module) in ADAPTERS and package_of(imported) in FACES
    ]
    assert wrong == []


@pytest.mark.parametrize(
    "module",
    [
        "sigverify.core.claims",
        "sigverify.core.conditions",
        "sigverify.core.policy",
        "sigverify.core.reference",
        "sigverify.core.verdict",
    ],
)
def test_importing_the_core_loads_no_framework(module: str) -> None:
    # At run time too: a package __init__ on the way must not drag a framework in.
    probe = (
        f"import sys, {module}; "
        "print(','.join(sorted(m for m in ('flask', 'marshmallow', 'kubernetes', 'gnupg', "
        "'click', 'sqlite3') if m in sys.modules)))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()
    assert loaded == ""


def test_the_readme_layout_names_every_package_and_top_level_module() -> None:
    readme = (PACKAGE.parent / "README.md").read_text()
    layout = readme[readme.index("## Layout") :]
    missing = [
        path.name
        for path in sorted(PACKAGE.iterdir())
        if (path.is_dir() and (path / "__init__.py").exists())
        or (path.suffix == ".py" and path.name not in ("__main__.py",))
        if f"{path.name}/" not in layout and path.name not in layout
    ]
    assert missing == []
