"""The README's Kaggle commands exist as written: the shell parses them, and every flag they
pass is one the installed Kaggle CLI or the suite's own command lines accept."""

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def kaggle_block() -> str:
    readme = (PROJECT / "README.md").read_text()
    section = readme[readme.index("## On Kaggle"):]
    return re.search(r"```bash\n(.*?)```", section, re.S).group(1)


def commands(block: str) -> list[list[str]]:
    return [shlex.split(line) for line in block.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def help_of(command: list[str]) -> str:
    """The --help of a README command: ``.venv/bin/kaggle A B ...`` or ``.venv/bin/python -m utils.X``."""
    if command[0] == ".venv/bin/kaggle":
        subcommand = [word for word in command[1:3] if not word.startswith("-")]
        found = subprocess.run([str(BIN / "kaggle"), *subcommand, "--help"], capture_output=True, text=True)
    else:
        module = command[command.index("-m") + 1]
        found = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True, text=True,
                               cwd=PROJECT)
    assert found.returncode == 0, found.stderr
    return found.stdout


def test_the_readme_kaggle_block_parses_as_bash():
    assert subprocess.run(["bash", "-n"], input=kaggle_block(), text=True).returncode == 0


@pytest.mark.parametrize("command", [c for c in commands(kaggle_block()) if c[0].startswith(".venv/bin/")],
                         ids=lambda c: " ".join(c[:3]))
def test_every_readme_kaggle_command_passes_flags_its_tool_accepts(command):
    text = help_of(command)
    for word in command:
        if word.startswith("-") and word not in ("-m",):
            assert re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text), f"{word} not in {command[:3]}'s --help"
