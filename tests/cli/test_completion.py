"""Shell completion (click's), as docs/install.md tells users to turn it on, and the oc/kubectl
plugin names: the same command under ``oc-sigverify`` and ``kubectl-sigverify``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


def complete(words: str, *, shell: str = "bash") -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "_SIGVERIFY_COMPLETE": f"{shell}_complete",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(words.split(" ")) - 1),
    }
    return subprocess.run(
        [str(BIN / "sigverify")], env=env, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_the_completion_script_is_printed(shell: str) -> None:
    env = {**os.environ, "_SIGVERIFY_COMPLETE": f"{shell}_source"}
    done = subprocess.run(
        [str(BIN / "sigverify")], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "_SIGVERIFY_COMPLETE" in done.stdout


def test_commands_and_output_formats_complete() -> None:
    assert complete("sigverify ver").stdout.splitlines() == ["plain,verify"]
    formats = complete("sigverify verify -o ").stdout.splitlines()
    assert formats == ["plain,text", "plain,json", "plain,yaml"]


@pytest.mark.parametrize("name", ["oc-sigverify", "kubectl-sigverify"])
def test_the_plugin_names_run_the_same_command(name: str) -> None:
    done = subprocess.run(
        [str(BIN / name), "verify", "--bogus"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert done.stderr == (
        "sigverify: error: No such option '--bogus'. (see 'sigverify verify --help')\n"
    )


@pytest.mark.parametrize("args", [[], ["store"]])
def test_a_group_alone_prints_its_help_not_an_error(args: list[str]) -> None:
    done = subprocess.run(
        [str(BIN / "sigverify"), *args], capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith(f"Usage: {' '.join(['sigverify', *args])} [OPTIONS] COMMAND")
