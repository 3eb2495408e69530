"""``sigverify verify``: verify one Image or ImageStreamImage against a trust policy."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from sigverify.cli._common import (
    EXIT_TRUSTED,
    EXIT_UNTRUSTED,
    backend_option,
    build_verifier,
    handle_errors,
)
from sigverify.cli._file_mode import verify_file
from sigverify.cli._kube import kubeconfig_in_use, namespace_option
from sigverify.cli._output import OUTPUT_FORMATS, dump_output
from sigverify.cli._registry_options import TRANSPORT, registry_options

if TYPE_CHECKING:
    from sigverify.imageapi.protocol import ImageAPI

# Each mode imports what it uses inside its branch: file mode (the common call) never loads
# the registry client, the image API, the HTTP client or the write-back (python -X importtime).

__all__ = ["command"]


@click.command("verify")
@click.argument(
    "reference",
    required=False,
    metavar="[NS/STREAM@DIGEST | STREAM@DIGEST | sha256:DIGEST | docker://REF]",
)
@click.option(
    "--policy",
    "policy",
    default=None,
    type=click.Path(dir_okay=False),
    help="Trust policy: sigverify YAML/JSON or containers-policy.json "
    "(not with --server: the service uses its own).",
)
@click.option(
    "--keys",
    type=click.Path(file_okay=False),
    default=None,
    help="Directory of public key files the policy's key names resolve against.",
)
@click.option(
    "-f",
    "--file",
    "document",
    default=None,
    help="Image or ImageStreamImage, JSON or YAML ('-' reads stdin; the default without "
    "a reference).",
)
@click.option(
    "--expected-identity",
    default=None,
    metavar="REF",
    help="Image reference for the scope lookup and identity rules "
    "(default: the Image's dockerImageReference).",
)
@click.option(
    "--output",
    "-o",
    type=click.Choice(OUTPUT_FORMATS),
    default="text",
    show_default=True,
)
@click.option(
    "--write",
    "write_to",
    default=None,
    metavar="FILE",
    help="Write the input object back with updated signature conditions ('-' = stdout).",
)
@click.option(
    "--server",
    default=None,
    metavar="URL",
    help="Ask a sigverify service (sigverify serve) to verify the reference.",
)
@click.option(
    "--kubeconfig",
    default=None,
    metavar="FILE",
    help="Fetch the reference from a cluster (default: $KUBECONFIG, else ~/.kube/config).",
)
@click.option("--context", default=None, help="kubeconfig context (default: the current one).")
@namespace_option
@click.option(
    "--store", default=None, metavar="FILE", help="Fetch the reference from an embedded store."
)
@click.option(
    "--record",
    is_flag=True,
    help="Write the conditions back to the Image (reference mode; files use --write).",
)
@click.option(
    "--token",
    default=None,
    help="Bearer token for --server (else $SIGVERIFY_TOKEN, else serve's generated admin token).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(0.1, 600),
    default=30.0,
    show_default=True,
    help="Seconds to wait for the service, cluster or registry.",
)
@registry_options
@backend_option
@handle_errors
def command(
    reference: str | None,
    policy: str | None,
    keys: str | None,
    document: str | None,
    expected_identity: str | None,
    output: str,
    write_to: str | None,
    server: str | None,
    kubeconfig: str | None,
    context: str | None,
    namespace: str | None,
    store: str | None,
    record: bool,
    token: str | None,
    timeout: float,
    registries_d: str | None,
    authfile: str | None,
    tls_verify: bool,
    cert_dir: str | None,
    backend: str,
) -> None:
    """Verify an image's signatures against a trust policy.

    \b
    File mode:       sigverify verify --policy P -f image.json [--write out.json]
    Reference mode:  sigverify verify NS/STREAM@DIGEST --server URL [--record]
                     sigverify verify -n NS STREAM@DIGEST --policy P [--record]
                     sigverify verify sha256:DIGEST --policy P    (the Image by name)
                     (the cluster of $KUBECONFIG or ~/.kube/config and its current
                     context and namespace, as oc; or --kubeconfig, --context, or
                     --store FILE for an embedded store)
    Registry mode:   sigverify verify docker://HOST[:PORT]/REPO@DIGEST|:TAG --policy P
                     [--registries-d DIR] [--authfile F] [--tls-verify=false] [--cert-dir DIR]

    Exit status: 0 the image is trusted, 1 it is not, 2 usage or input error.
    """
    registry_flags = registries_d or authfile or cert_dir or not tls_verify
    if reference is not None and reference.startswith(TRANSPORT):
        if document is not None or write_to is not None or server:
            raise click.UsageError(
                "a docker:// reference is read from its registry: drop -f, --write and --server"
            )
        if bool(kubeconfig or store) != record:
            raise click.UsageError(
                "with a docker:// reference, --record needs --kubeconfig or --store (the "
                "cluster to record the signatures on), and they need --record"
            )
        if policy is None:
            raise click.UsageError("Missing option '--policy'.")
        from sigverify.cli._registry import (
            record_pull_spec,
            source_options,
            sources_text,
            verify_pull_spec,
        )
        from sigverify.render import verdict_json_to_text

        options = source_options(registries_d, authfile, tls_verify, cert_dir, timeout)
        if record:
            body = record_pull_spec(
                reference,
                policy,
                keys,
                backend,
                expected_identity,
                api=_open_api(kubeconfig, context, store, timeout),
                options=options,
            )
        else:
            body = verify_pull_spec(
                reference,
                policy,
                keys,
                backend,
                expected_identity,
                registries_d=registries_d,
                authfile=authfile,
                tls_verify=tls_verify,
                cert_dir=cert_dir,
                timeout=timeout,
            )
        if output == "text":
            sys.stdout.write(verdict_json_to_text(body) + sources_text(body))
        else:
            sys.stdout.write(dump_output(body, output))
        sys.exit(EXIT_TRUSTED if body["trusted"] else EXIT_UNTRUSTED)
    if registry_flags:
        raise click.UsageError(
            "--registries-d, --authfile, --tls-verify and --cert-dir need a docker:// reference"
        )
    if reference is not None:
        # oc's and kubectl's default cluster: the one of $KUBECONFIG, else ~/.kube/config
        kubeconfig_default = not (server or kubeconfig or store) and kubeconfig_in_use()
        cluster = kubeconfig or ("$KUBECONFIG" if kubeconfig_default else None)
        _check_reference_mode(document, write_to, server, cluster, store, policy)
        body = _verify_reference(
            reference,
            policy,
            keys,
            backend,
            expected_identity,
            server,
            kubeconfig,
            context,
            namespace,
            store,
            record,
            timeout,
            use_cluster=kubeconfig_default,
            token=token,
        )
        from sigverify.render import verdict_json_to_text

        stream = sys.stdout
        if output == "text":
            stream.write(verdict_json_to_text(body))
        else:
            stream.write(dump_output(body, output))
        sys.exit(EXIT_TRUSTED if body["trusted"] else EXIT_UNTRUSTED)
    if record or server or kubeconfig or store or namespace:
        raise click.UsageError(
            "--server, --kubeconfig, --store, -n and --record need a reference "
            "(NS/STREAM@DIGEST, STREAM@DIGEST or sha256:…)"
        )
    if policy is None:
        raise click.UsageError("Missing option '--policy'.")
    verify_file(policy, keys, document, backend, expected_identity, output, write_to)


def _check_reference_mode(
    document: str | None,
    write_to: str | None,
    server: str | None,
    kubeconfig: str | None,
    store: str | None,
    policy: str | None,
) -> None:
    if document is not None or write_to is not None:
        raise click.UsageError("give either a reference or -f/--write, not both")
    sources = [
        flag
        for flag, value in (("--server", server), ("--kubeconfig", kubeconfig), ("--store", store))
        if value
    ]
    if len(sources) != 1:
        raise click.UsageError(
            "a reference needs a cluster ($KUBECONFIG, ~/.kube/config or --kubeconfig), "
            "--server or --store: exactly one"
        )
    if server and policy:
        raise click.UsageError("--server verifies with the service's own policy; drop --policy")
    if not server and policy is None:
        raise click.UsageError("Missing option '--policy'.")


def _verify_reference(
    reference: str,
    policy: str | None,
    keys: str | None,
    backend: str,
    expected_identity: str | None,
    server: str | None,
    kubeconfig: str | None,
    context: str | None,
    namespace: str | None,
    store: str | None,
    record: bool,
    timeout: float,
    *,
    use_cluster: bool,
    token: str | None = None,
) -> dict[str, Any]:
    from sigverify.cli._kube import resolve_namespace
    from sigverify.cli._remote import (
        ImageName,
        parse_image_target,
        verify_locally,
        verify_via_service,
    )

    by_name = reference.startswith(("sha256:", "sha512:"))
    if namespace is None and (kubeconfig or use_cluster) and "/" not in reference and not by_name:
        namespace = resolve_namespace(None, kubeconfig, context)
    ref = parse_image_target(reference, namespace)
    if server:
        if isinstance(ref, ImageName):
            raise click.UsageError(
                "--server verifies NS/STREAM@DIGEST; an Image by name needs a cluster or --store"
            )
        return verify_via_service(
            server,
            ref,
            expected_identity=expected_identity,
            record=record,
            timeout=timeout,
            token=token,
        )
    assert policy is not None
    api = _open_api(kubeconfig, context, store, timeout)
    verifier = build_verifier(policy, keys, backend)
    try:
        return verify_locally(
            api, verifier, ref, expected_identity=expected_identity, record=record
        )
    finally:
        verifier.backend.close()


def _open_api(
    kubeconfig: str | None, context: str | None, store: str | None, timeout: float
) -> ImageAPI:
    from sigverify.imageapi.factory import open_image_api
    from sigverify.imageapi.options import ClusterOptions, ImageSource

    return open_image_api(
        ImageSource(store=store)
        if store is not None
        else ImageSource(
            cluster=ClusterOptions(kubeconfig=kubeconfig, context=context, timeout=timeout)
        )
    )
