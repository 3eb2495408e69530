"""Real registry material for the sources tests: Debian's docker-registry (the CNCF
distribution registry 2.8) on a loopback port with TLS and htpasswd users, images written by
hand as OCI layouts and pushed with ``skopeo copy``, signatures made by ``skopeo copy
--sign-by`` into a lookaside staging folder, and a real ``http.server`` serving that folder.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import json
import os
import shutil
import ssl
import subprocess
import tarfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.imageapi.servers import TLSFiles, closed_port, self_signed_certificate
from tests.support.gpgfactory import GeneratedKey

__all__ = [
    "OCI_INDEX",
    "OCI_MANIFEST",
    "Registry",
    "oci_layout",
    "push",
    "serve_folder",
    "start_registry",
]

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
_OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
_OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
_TIMEOUT = 120.0


@dataclass(frozen=True)
class Registry:
    """A running registry: ``host`` is ``127.0.0.1:PORT``; ``certs`` holds its CA as ca.crt."""

    host: str
    certs: Path
    tls: TLSFiles
    user: str
    password: str

    @property
    def creds(self) -> str:
        return f"{self.user}:{self.password}"


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _blob(layout: Path, data: bytes) -> str:
    digest = _sha256(data)
    path = layout / "blobs" / "sha256" / digest.removeprefix("sha256:")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return digest


def _image_manifest(layout: Path, content: bytes, architecture: str) -> bytes:
    """One tiny image (a tar layer with one file, its config) as an OCI manifest's bytes."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size = len(content)
        info.mtime = 0
        tar.addfile(info, io.BytesIO(content))
    layer = buffer.getvalue()
    layer_digest = _blob(layout, layer)
    config = json.dumps(
        {
            "architecture": architecture,
            "os": "linux",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
        }
    ).encode()
    config_digest = _blob(layout, config)
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": _OCI_CONFIG, "digest": config_digest, "size": len(config)},
            "layers": [{"mediaType": _OCI_LAYER, "digest": layer_digest, "size": len(layer)}],
        }
    ).encode()


def oci_layout(layout: Path, tag: str, content: bytes, *, index: bool = False) -> str:
    """Write an OCI layout holding one image (or, with ``index``, an index of two: amd64
    and arm64) under ``tag``; returns the digest of the manifest the tag names."""
    layout.mkdir(parents=True, exist_ok=True)
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    manifest = _image_manifest(layout, content, "amd64")
    top, media_type = manifest, OCI_MANIFEST
    if index:
        other = _image_manifest(layout, content + b" arm64", "arm64")
        top = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": OCI_INDEX,
                "manifests": [
                    {
                        "mediaType": OCI_MANIFEST,
                        "digest": _sha256(m),
                        "size": len(m),
                        "platform": {"architecture": arch, "os": "linux"},
                    }
                    for m, arch in ((manifest, "amd64"), (other, "arm64"))
                ],
            }
        ).encode()
        _blob(layout, other)
        media_type = OCI_INDEX
    _blob(layout, manifest)
    digest = _blob(layout, top)
    (layout / "index.json").write_text(
        json.dumps(
            {
                "schemaVersion": 2,
                "manifests": [
                    {
                        "mediaType": media_type,
                        "digest": digest,
                        "size": len(top),
                        "annotations": {"org.opencontainers.image.ref.name": tag},
                    }
                ],
            }
        )
    )
    return digest


def _run(command: list[str], *, home: Path | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "TZ", "HOME")}
    env["LC_ALL"] = "C"
    if home is not None:
        env["GNUPGHOME"] = str(home)
    done = subprocess.run(
        command, capture_output=True, env=env, timeout=_TIMEOUT, check=False, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def push(
    registry: Registry,
    layout: Path,
    tag: str,
    destination: str,
    *,
    sign_by: GeneratedKey | None = None,
    staging: Path | None = None,
    scratch: Path,
) -> str:
    """``skopeo copy --all`` the layout's ``tag`` to ``docker://HOST/destination``, signing
    with ``sign_by`` into the lookaside ``staging`` folder (skopeo's own layout); returns the
    digest of the manifest pushed (skopeo may rewrite it: it compresses layers)."""
    registries_d = scratch / f"registries.d-{os.getpid()}-{time.monotonic_ns()}"
    registries_d.mkdir(parents=True)
    if staging is not None:
        (registries_d / "staging.yaml").write_text(
            f"docker:\n  {registry.host}:\n    lookaside-staging: file://{staging}\n"
        )
    digest_file = registries_d / "digest"
    command = ["skopeo", "--registries.d", str(registries_d), "copy", "--all", "--quiet"]
    command += ["--digestfile", str(digest_file)]
    if sign_by is not None:
        command += ["--sign-by", sign_by.fingerprint]
    command += [
        "--dest-cert-dir",
        str(registry.certs),
        "--dest-creds",
        registry.creds,
        f"oci:{layout}:{tag}",
        f"docker://{registry.host}/{destination}",
    ]
    _run(command, home=sign_by.home if sign_by is not None else None)
    return digest_file.read_text().strip()


def _wait_until_up(registry: Registry, process: subprocess.Popen[bytes]) -> None:
    context = ssl.create_default_context(cafile=str(registry.tls.cert))
    for _ in range(600):  # readiness, not a timed assertion: at most ~60 s
        if process.poll() is not None:
            raise RuntimeError(f"docker-registry exited with {process.returncode}")
        try:
            urllib.request.urlopen(f"https://{registry.host}/v2/", context=context, timeout=2)
        except urllib.error.HTTPError:
            return  # 401: up, and asking for credentials
        except OSError:
            time.sleep(0.1)
            continue
        return
    raise RuntimeError("docker-registry did not start")


@contextmanager
def start_registry(
    folder: Path,
    *,
    user: str = "tester",
    password: str = "s3cret",
    tls: TLSFiles | None = None,
    auth: dict[str, object] | None = None,
) -> Iterator[Registry]:
    """docker-registry on a loopback port, TLS (a fresh certificate unless given), htpasswd
    users (bcrypt) unless another ``auth`` section is given (e.g. ``token``)."""
    folder.mkdir(parents=True, exist_ok=True)
    tls = tls if tls is not None else self_signed_certificate(folder / "tls")
    certs = folder / "certs"
    certs.mkdir()
    shutil.copy(tls.cert, certs / "ca.crt")
    htpasswd = folder / "htpasswd"
    htpasswd.write_text(_run(["htpasswd", "-nbB", user, password]).strip() + "\n")
    port = closed_port()
    (folder / "config.yml").write_text(
        json.dumps(  # JSON is YAML
            {
                "version": 0.1,
                "log": {"level": "error", "accesslog": {"disabled": True}},
                "storage": {"filesystem": {"rootdirectory": str(folder / "data")}},
                "http": {
                    "addr": f"127.0.0.1:{port}",
                    "tls": {"certificate": str(tls.cert), "key": str(tls.key)},
                },
                "auth": auth or {"htpasswd": {"realm": "sigverify-tests", "path": str(htpasswd)}},
            }
        )
    )
    log = (folder / "registry.log").open("wb")
    process = subprocess.Popen(
        ["docker-registry", "serve", str(folder / "config.yml")],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
    )
    registry = Registry(f"127.0.0.1:{port}", certs, tls, user, password)
    try:
        _wait_until_up(registry, process)
        yield registry
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)
        log.close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serve_folder(folder: Path) -> Iterator[str]:
    """A real ``http.server`` serving ``folder`` on a loopback port; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
