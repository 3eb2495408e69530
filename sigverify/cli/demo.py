"""``sigverify demo``: verify the bundled sample images, to see what sigverify reports."""

from __future__ import annotations

from pathlib import Path

import click

from sigverify.cli._common import backend_option, handle_errors
from sigverify.objects.documents import read_document_file
from sigverify.objects.types import ImageStreamImage
from sigverify.policyfile.holder import load_verifier
from sigverify.render import verdict_to_text
from sigverify.settings import repository_root

__all__ = ["command"]


@click.command("demo")
@click.option(
    "--examples",
    type=click.Path(file_okay=False, exists=True),
    default=None,
    help="Directory of sample objects (default: the checkout's examples/demo).",
)
@click.option("--policy", type=click.Path(dir_okay=False), default=None)
@click.option("--keys", type=click.Path(file_okay=False), default=None)
@backend_option
@handle_errors
def command(examples: str | None, policy: str | None, keys: str | None, backend: str) -> None:
    """Verify every sample image in examples/demo against policies/demo.yaml."""
    root = repository_root()
    folder = Path(examples) if examples else root / "examples" / "demo"
    loaded, verifier = load_verifier(
        policy or str(root / "policies" / "demo.yaml"), keys or str(root / "keys"), backend
    )
    click.echo(
        f"policy {loaded.source} ({len(loaded.keyring)} trusted keys), "
        f"backend {verifier.backend.name}\n"
    )
    try:
        for path in sorted(folder.glob("*.json")) + sorted(folder.glob("*.yaml")):
            obj = read_document_file(str(path))
            image = obj.image if isinstance(obj, ImageStreamImage) else obj
            click.echo(f"== {path.name}")
            click.echo(verdict_to_text(verifier.verify_image(image)))
    finally:
        verifier.backend.close()
