"""Every CLI command is documented in the README, and the README's two set-up commands exist."""

from pathlib import Path

import click

from medcite.cli import cli

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def _commands(group: click.Group, prefix: str = "medcite"):
    for name, command in group.commands.items():
        yield f"{prefix} {name}"
        if isinstance(command, click.Group):
            yield from _commands(command, f"{prefix} {name}")


def test_every_command_is_documented():
    commands = list(_commands(cli))
    assert len(commands) >= 8
    missing = [c for c in commands if f"`{c}" not in README and f"{c} " not in README]
    assert missing == []


def test_readme_setup_commands_exist():
    repo = Path(__file__).resolve().parents[1]
    for script in ("scripts/demo.sh", "scripts/test.sh"):
        assert f"bash {script}" in README
        assert (repo / script).is_file()
    assert "bash scripts/test.sh" in (repo / ".ci" / "run").read_text()


def test_every_limit_is_documented_in_the_security_section():
    from medcite.settings import OPERATIONAL_FIELDS, env_name

    security = README.split("\n## Security\n", 1)[1]
    missing = [env_name(f) for f in sorted(OPERATIONAL_FIELDS - {"index_path", "log_patient_text"}) if env_name(f) not in security]
    assert missing == []
