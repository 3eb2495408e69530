"""``sigverify store``: seed and inspect the embedded image store."""

from __future__ import annotations

from typing import Any

import click

from sigverify.cli._common import handle_errors
from sigverify.cli._kube import dump_output
from sigverify.cli._settings_options import config_option, settings_from, store_option
from sigverify.imageapi.store.image_store import ImageStore
from sigverify.imageapi.store.seed import load_paths

__all__ = ["command"]


@click.group("store")
def command() -> None:
    """Seed and inspect the embedded image store (used when no cluster is given)."""


@command.command("load")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@config_option
@store_option
@handle_errors
def load(paths: tuple[str, ...], **flags: Any) -> None:
    """Store the Images, ImageStreams and ImageStreamImages found in PATHS (files or
    directories of .json/.yaml/.yml; YAML streams and kind: List are read too)."""
    settings = settings_from(flags)
    store = ImageStore(settings.store)
    count = load_paths(store, paths)
    counts = store.counts()
    click.echo(
        f"stored {count} objects in {settings.store} (now {counts['images']} images, "
        f"{counts['imagestreams']} image streams)"
    )


@command.command("list")
@click.option(
    "--kind",
    type=click.Choice(["images", "imagestreams"]),
    default="images",
    show_default=True,
)
@click.option("--namespace", "-n", default=None, help="ImageStreams of one namespace.")
@click.option("--output", "-o", type=click.Choice(["text", "json", "yaml"]), default="text")
@config_option
@store_option
@handle_errors
def list_objects(kind: str, namespace: str | None, output: str, **flags: Any) -> None:
    """List the stored Images or ImageStreams."""
    settings = settings_from(flags)
    store = ImageStore(settings.store)
    if kind == "images":
        items, _ = store.list_images()
    else:
        items, _ = store.list_imagestreams(namespace)
    if output != "text":
        click.echo(dump_output(items, output), nl=False)
        return
    for item in items:
        meta = item.get("metadata") or {}
        if kind == "images":
            signatures = item.get("signatures") or []
            click.echo(
                f"{meta.get('name')}  rv={meta.get('resourceVersion')}  "
                f"signatures={len(signatures)}  {item.get('dockerImageReference', '')}"
            )
        else:
            tags = [t.get("tag") for t in (item.get("status") or {}).get("tags") or []]
            click.echo(
                f"{meta.get('namespace')}/{meta.get('name')}  rv={meta.get('resourceVersion')}  "
                f"tags={','.join(str(t) for t in tags) or '-'}"
            )
