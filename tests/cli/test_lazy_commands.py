"""The lazy ``sigverify`` group: the same help as an eager group, and only the modules a
command uses are imported (issue 12: a CLI call near skopeo's)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from sigverify.cli import cli
from sigverify.cli._commands import COMMANDS, LazyGroup

ROOT = Path(__file__).resolve().parents[2]
DEMO_POLICY = ROOT / "policies" / "demo.yaml"
SIGNED = ROOT / "examples" / "demo" / "app-signed.json"

_PROBE = """
import json, sys
from sigverify.cli import cli
try:
    cli(sys.argv[1:], prog_name="sigverify")
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


def modules_after(*args: str) -> tuple[int, set[str]]:
    """The exit status of ``sigverify ARGS`` and every module loaded by then."""
    env = {k: v for k, v in os.environ.items() if k != "SIGVERIFY_DEBUG"}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
        check=False,
    )
    report = json.loads(done.stderr.strip().splitlines()[-1])
    return report["code"], set(report["modules"])


def eager_group() -> click.Group:
    """The group as it was before: every command imported and added."""
    import importlib

    group = click.Group(
        "cli", help=cli.help, context_settings={"help_option_names": ["-h", "--help"]}
    )
    for param in cli.params:
        group.params.append(param)
    for name, (module, _) in COMMANDS.items():
        group.add_command(importlib.import_module(module).command, name)
    return group


@pytest.mark.parametrize("width", [40, 80, 120, 200])
def test_help_is_the_eager_groups_help(width: int) -> None:
    runner = CliRunner()
    lazy = runner.invoke(cli, ["--help"], terminal_width=width)
    eager = runner.invoke(eager_group(), ["--help"], terminal_width=width)
    assert lazy.exit_code == eager.exit_code == 0
    assert lazy.output == eager.output


def test_every_listed_command_resolves_to_its_module() -> None:
    assert isinstance(cli, LazyGroup)
    context = click.Context(cli)
    assert cli.list_commands(context) == sorted(COMMANDS)
    for name in COMMANDS:
        command = cli.get_command(context, name)
        assert command is not None and command.name == name
    assert cli.get_command(context, "no-such-command") is None


def test_help_imports_no_subcommand() -> None:
    code, modules = modules_after("--help")
    assert code == 0
    subcommands = {module for module, _ in COMMANDS.values()}
    loaded = {
        module
        for module in modules
        if module in subcommands
        or (module.startswith("sigverify.") and not module.startswith("sigverify.cli"))
    }
    assert loaded == set()


FILE_MODE_NEVER = (
    "kubernetes",
    "flask",
    "gunicorn",
    "gnupg",
    "marshmallow",
    "sqlite3",
    "urllib.request",
    "http.client",
    "sigverify.sources",
    "sigverify.imageapi",
    "sigverify.writeback",
    "sigverify.audit",
    "sigverify.openpgp.gnupg",
    "sigverify.openpgp.gpghome",
    "subprocess",
    "logging",
    "sigverify.cli.demo",
    "sigverify.cli.serve",
    "sigverify.cli._remote",
    "sigverify.cli._registry",
)


def test_verify_file_mode_imports_only_what_it_uses() -> None:
    code, modules = modules_after(
        "verify", "--policy", str(DEMO_POLICY), "-f", str(SIGNED), "--backend", "native"
    )
    assert code == 0
    loaded = sorted(
        module
        for module in modules
        if any(module == name or module.startswith(name + ".") for name in FILE_MODE_NEVER)
    )
    assert loaded == []


def test_json_in_json_out_imports_no_yaml(tmp_path: Path) -> None:
    import yaml

    policy = yaml.safe_load(DEMO_POLICY.read_text())
    policy["keysDirectory"] = str(ROOT / "keys")
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(policy))
    code, modules = modules_after(
        "verify", "--policy", str(path), "-f", str(SIGNED), "--backend", "native"
    )
    assert code == 0
    assert not any(module == "yaml" or module.startswith("yaml.") for module in modules)


# -- the entry point (sigverify.cli.main): the file-mode fast path -------------------------------

_MAIN_PROBE = """
import atexit, gc, json, sys
def report():
    print(json.dumps({"modules": sorted(sys.modules), "gc": gc.isenabled(),
                      "frozen": gc.get_freeze_count()}), file=sys.stderr)
atexit.register(report)
sys.argv[0] = "sigverify"
from sigverify.cli import main
main()
"""


def entry_point(*args: str) -> tuple[int, dict[str, object]]:
    """The exit status of ``sigverify ARGS`` run as the installed script runs it, and what
    the process held at exit: its modules, whether the collector was on, how much was frozen."""
    env = {k: v for k, v in os.environ.items() if k not in ("SIGVERIFY_DEBUG", "SIGVERIFY_BACKEND")}
    done = subprocess.run(
        [sys.executable, "-c", _MAIN_PROBE, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
        check=False,
    )
    return done.returncode, json.loads(done.stderr.strip().splitlines()[-1])


def test_the_entry_points_file_mode_imports_no_click_and_nothing_it_does_not_use() -> None:
    code, report = entry_point(
        "verify", "--policy", str(DEMO_POLICY), "-f", str(SIGNED), "--backend", "native"
    )
    assert code == 0
    modules = set(report["modules"])  # type: ignore[arg-type]
    assert not any(module == "click" or module.startswith("click.") for module in modules)
    never = [
        module
        for module in modules
        if any(module == name or module.startswith(name + ".") for name in FILE_MODE_NEVER)
    ]
    assert never == []
    assert "sigverify.cli._group" not in modules and "sigverify.cli.verify" not in modules
    # policies/demo.yaml is plain YAML of strings: read without PyYAML (sigverify._strict_yaml).
    assert "yaml" not in modules and "sigverify._strict_pyyaml" not in modules
    # The start-up objects were frozen out of the collector's reach, and it is on again.
    assert report["gc"] is True
    assert isinstance(report["frozen"], int) and report["frozen"] > 10_000


@pytest.mark.parametrize(
    "args",
    [
        ("--version",),
        ("serve", "--help"),
        ("verify", "--policy", str(DEMO_POLICY), "-f", str(SIGNED), "--no-such-option"),
    ],
)
def test_any_other_call_keeps_the_collector_as_it_was(args: tuple[str, ...]) -> None:
    code, report = entry_point(*args)
    assert code in (0, 2)
    assert report["gc"] is True and report["frozen"] == 0
    assert "click" in report["modules"]  # type: ignore[operator]
