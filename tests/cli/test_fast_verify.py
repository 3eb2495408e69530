"""The file-mode fast path (``sigverify verify --policy P -f FILE`` without click) is the click
command by another road: what it accepts, click parses to the same values, and the two print
the same bytes and exit alike (issue 12)."""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path
from unittest import mock

import click
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sigverify.cli._fast_verify import (
    CLICK_ENVIRONMENT,
    OPTIONS,
    FileModeCall,
    parse_file_mode,
)
from sigverify.cli.verify import command
from tests.support.budget import examples

ROOT = Path(__file__).resolve().parents[2]
DEMO_POLICY = ROOT / "policies" / "demo.yaml"
SIGNED = ROOT / "examples" / "demo" / "app-signed.json"
UNTRUSTED = ROOT / "examples" / "demo" / "tools-untrusted.json"
KEYS = ROOT / "keys"


def click_params(args: list[str]) -> dict[str, object] | None:
    """The parameters click's ``verify`` parses ``args`` to, or None when it refuses them."""
    try:
        with command.make_context("verify", list(args)) as context:
            return dict(context.params)
    except (click.exceptions.ClickException, click.exceptions.Exit):
        return None


def as_click_params(call: FileModeCall) -> dict[str, object]:
    """The click command's parameters for ``call``: its values over click's defaults."""
    defaults = click_params(["--policy", "policy.yaml"])
    assert defaults is not None
    return {**defaults, **call._asdict()}


def test_every_spelling_is_the_click_options_own() -> None:
    by_spelling = {
        spelling: param.name
        for param in command.params
        if isinstance(param, click.Option)
        for spelling in param.opts
    }
    for spelling, name in OPTIONS.items():
        assert by_spelling[spelling] == name
        option = next(param for param in command.params if param.name == name)
        assert isinstance(option, click.Option)
        assert not option.is_flag and not option.multiple and option.nargs == 1


def test_every_environment_variable_click_reads_is_watched() -> None:
    read = {
        param.envvar
        for param in command.params
        if isinstance(param, click.Option) and isinstance(param.envvar, str)
    }
    assert read <= set(CLICK_ENVIRONMENT)
    assert "_SIGVERIFY_COMPLETE" in CLICK_ENVIRONMENT  # the group's shell completion


@pytest.mark.parametrize(
    "args",
    [
        ["--policy", "p.yaml", "-f", "image.json"],
        ["--policy", "p.yaml", "--backend", "native", "-f", "image.json"],
        ["-f", "-", "--policy=p.json", "-o", "json", "--write", "-"],
        ["--file=image.yaml", "--policy", "p", "--keys", "k", "--output=yaml"],
        ["--policy", "p", "-f", "i", "--expected-identity", "registry.example.com/a:1"],
    ],
)
def test_the_common_spellings_take_the_fast_path(args: list[str]) -> None:
    call = parse_file_mode(["verify", *args], {})
    assert call is not None
    assert as_click_params(call) == click_params(args)


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--policy", "p"],  # no "verify"
        ["verify", "-f", "image.json"],  # no policy: click's usage error
        ["verify", "--policy", "p", "--help"],
        ["verify", "--policy", "p", "ns/stream@sha256:" + "a" * 64],
        ["verify", "--policy", "p", "--server", "https://x"],
        ["verify", "--policy", "p", "--policy", "q"],  # click: the last one wins
        ["verify", "--policy", "p", "-fimage.json"],
        ["verify", "--policy", "p", "-f"],
        ["verify", "--policy", "p", "-f", "--keys"],  # click reads "--keys" as the file
        ["verify", "--policy", "p", "-o", "JSON"],
        ["verify", "--policy", "p", "--backend", "openssl"],
        ["verify", "--policy", str(ROOT)],  # a directory: click's error
        ["verify", "--policy", "p", "--keys", str(DEMO_POLICY)],  # a file: click's error
        ["verify", "--policy", "", "-f", "i"],
        ["verify", "--", "--policy", "p"],
    ],
)
def test_anything_else_is_left_to_click(args: list[str]) -> None:
    assert parse_file_mode(args, {}) is None


@pytest.mark.parametrize("variable", CLICK_ENVIRONMENT)
def test_an_environment_click_reads_leaves_the_call_to_click(variable: str) -> None:
    args = ["verify", "--policy", "p", "-f", "i"]
    assert parse_file_mode(args, {}) is not None
    assert parse_file_mode(args, {variable: "native"}) is None


_NAMES = [
    *OPTIONS,
    "--server",
    "--kubeconfig",
    "--context",
    "-n",
    "--namespace",
    "--store",
    "--record",
    "--token",
    "--timeout",
    "--tls-verify",
    "--registries-d",
    "--authfile",
    "--cert-dir",
    "--help",
    "-h",
    "--",
    "--polic",
    "--verbose",
]
_VALUES = [
    str(DEMO_POLICY),
    str(KEYS),
    str(ROOT / "no-such-file"),
    "-",
    "",
    "text",
    "json",
    "yaml",
    "JSON",
    "native",
    "gnupg",
    "auto",
    "true",
    "image.json",
    "docker://registry.example.com/a@sha256:" + "b" * 64,
    "a=b",
    "-x",
]
_TOKENS = st.one_of(
    st.sampled_from(_NAMES),
    st.sampled_from(_VALUES),
    st.builds(
        lambda name, value: f"{name}={value}", st.sampled_from(_NAMES), st.sampled_from(_VALUES)
    ),
    st.builds(lambda value: f"-f{value}", st.sampled_from(_VALUES)),
    st.text(max_size=6),
)


@settings(max_examples=examples(500), deadline=None)
@given(
    policy=st.sampled_from(_VALUES),
    options=st.dictionaries(st.sampled_from(list(OPTIONS)), st.sampled_from(_VALUES), max_size=4),
    extra=st.lists(_TOKENS, max_size=3),
    joined=st.booleans(),
    order=st.randoms(use_true_random=False),
)
def test_what_the_fast_path_accepts_click_parses_alike(
    policy: str, options: dict[str, str], extra: list[str], joined: bool, order: random.Random
) -> None:
    """A policy and some options (which the fast path often accepts), in any order, spelt
    ``--name=value`` or ``--name value``, sometimes among other tokens."""
    pairs = [("--policy", policy), *options.items()]
    order.shuffle(pairs)
    args = [
        part
        for name, value in pairs
        for part in ([f"{name}={value}"] if joined and name.startswith("--") else [name, value])
    ]
    at = order.randint(0, len(args))
    args[at:at] = extra
    with mock.patch.dict(os.environ, clear=False) as environ:
        for variable in CLICK_ENVIRONMENT:
            environ.pop(variable, None)
        call = parse_file_mode(["verify", *args], environ)
        if call is None:
            return
        assert click_params(args) == as_click_params(call)


# -- the same bytes and exit status, as whole processes ------------------------------------------

_VIA_CLICK = "import sys; from sigverify.cli import cli; cli(sys.argv[1:], prog_name='sigverify')"
_TIMES = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def _run(argv: list[str], cwd: Path) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SIGVERIFY_DEBUG", *CLICK_ENVIRONMENT)}
    done = subprocess.run(
        argv, capture_output=True, text=True, cwd=cwd, env=env, timeout=120, check=False
    )
    return done.returncode, _TIMES.sub("TIME", done.stdout), _TIMES.sub("TIME", done.stderr)


def fast_and_click(args: list[str], cwd: Path = ROOT) -> tuple[tuple[int, str, str], ...]:
    assert parse_file_mode(["verify", *args], {}) is not None
    fast = _run([sys.executable, "-m", "sigverify", "verify", *args], cwd)
    slow = _run([sys.executable, "-c", _VIA_CLICK, "verify", *args], cwd)
    return fast, slow


@pytest.mark.parametrize(
    "args",
    [
        ["--policy", str(DEMO_POLICY), "-f", str(SIGNED), "--backend", "native"],
        ["--policy", str(DEMO_POLICY), "-f", str(UNTRUSTED), "-o", "json"],
        ["--policy", str(DEMO_POLICY), "-f", "no-such-image.json"],
    ],
)
def test_the_fast_path_prints_what_click_prints(args: list[str]) -> None:
    fast, slow = fast_and_click(args)
    assert fast == slow
    assert fast[0] in (0, 1, 2) and (fast[1] or fast[2])


@pytest.mark.slow
@pytest.mark.parametrize(
    "args",
    [
        ["--policy", str(DEMO_POLICY), "-f", str(SIGNED), "-o", "yaml", "--write", "-"],
        ["--policy", str(DEMO_POLICY), "-f", str(SIGNED), "--expected-identity", "x.io/a:1"],
        ["--policy", str(DEMO_POLICY), "--keys", str(KEYS), "-f", str(SIGNED)],
        ["--policy", str(ROOT / "no-such-policy.yaml"), "-f", str(SIGNED)],
        ["--policy", str(SIGNED), "-f", str(SIGNED)],  # not a policy
        ["--policy", str(DEMO_POLICY), "-f", str(DEMO_POLICY)],  # not an Image
        ["--policy", str(DEMO_POLICY), "-f", str(SIGNED), "--write", "/no/such/dir/out.json"],
    ],
)
def test_the_fast_path_prints_what_click_prints_everywhere(args: list[str]) -> None:
    fast, slow = fast_and_click(args)
    assert fast == slow


@pytest.mark.slow
def test_the_fast_path_writes_what_click_writes(tmp_path: Path) -> None:
    written = []
    for name, runner in (("fast", ["-m", "sigverify"]), ("click", ["-c", _VIA_CLICK])):
        target = tmp_path / f"{name}.json"
        args = ["verify", "--policy", str(DEMO_POLICY), "-f", str(SIGNED), "--write", str(target)]
        assert _run([sys.executable, *runner, *args], ROOT)[0] == 0
        written.append(_TIMES.sub("TIME", target.read_text()))
    assert written[0] == written[1]
    assert json.loads(written[0])["kind"] == "ImageStreamImage"
