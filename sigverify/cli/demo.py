"""``sigverify demo``: verify the bundled sample images, to see what sigverify reports."""

from __future__ import annotations

from pathlib import Path

import click

from sigverify.cli._common import backend_option, handle_errors
from sigverify.objects.documents import read_document_file
from sigverify.objects.types import ImageStreamImage
from sigverify.policyfile.holder import load_verifier
from sigverify.render import verdict_to_text
from sigverify.settings import bundled

__all__ = ["command"]


@click.command("demo")
@click.option(
    "--examples",
    type=click.Path(file_okay=False, exists=True),
    default=None,
    help="Directory of sample objects (default: the bundled sample images).",
)
@click.option(
    "--policy",
    type=click.Path(dir_okay=False),
    default=None,
    help="Trust policy (default: the bundled demo policy).",
)
@click.option(
    "--keys",
    type=click.Path(file_okay=False),
    default=None,
    help="Keys directory (default: the policy's keysDirectory, else keys/ beside it).",
)
@backend_option
@handle_errors
def command(examples: str | None, policy: str | None, keys: str | None, backend: str) -> None:
    """Verify every sample image in examples/demo against policies/demo.yaml.

    Both ship with sigverify (sigverify/_data): this works from any folder.
    """
    folder = Path(examples) if examples else bundled("examples", "demo")
    loaded, verifier = load_verifier(policy or str(bundled("policies", "demo.yaml")), keys, backend)
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
