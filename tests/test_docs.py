"""The docs' commands exist as written: the shell parses them, and every flag they pass is one
the installed Kaggle CLI or the suite's own command lines accept."""

import functools
import os
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


# -- every command block of the README, the guide and RESULTS -----------------------------------

DOCS = ["README.md", "docs/guide.md", "docs/RESULTS.md"]


def blocks(name: str, language: str = "bash") -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", (PROJECT / name).read_text(), re.S)


def python_commands(name: str) -> list[list[str]]:
    """Each line of the file's bash blocks that runs the suite's Python (continuations joined,
    comments dropped, the words before ``python`` such as ``HF_HUB_OFFLINE=1`` or a ``.venv/bin/``
    prefix left aside)."""
    found = []
    for block in blocks(name):
        for line in block.replace("\\\n", " ").splitlines():
            for part in re.split(r"\s(?:&&|;|\|\|?)\s", line):
                words = shlex.split(part, comments=True)
                runs = [i for i, word in enumerate(words) if re.fullmatch(r"(\S*/)?python3?", word)]
                if runs:
                    found.append(words[runs[0] + 1:])
    return found


@functools.lru_cache(maxsize=None)
def help_text(target: tuple[str, ...]) -> str:
    """``target --help`` (``("-m", "utils.X")`` or ``("bench/X.py",)``), run in this process: the
    libraries load once for every command."""
    import contextlib
    import io
    import runpy

    out, argv, cwd = io.StringIO(), sys.argv, os.getcwd()
    sys.argv = [target[-1], "--help"]
    os.chdir(PROJECT)
    try:
        with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as done:
            if target[0] == "-m":
                runpy.run_module(target[1], run_name="__main__", alter_sys=True)
            else:
                runpy.run_path(str(PROJECT / target[0]), run_name="__main__")
    finally:
        sys.argv = argv
        os.chdir(cwd)
    assert done.value.code in (0, None), f"{' '.join(target)} --help exited {done.value.code}"
    return out.getvalue()


def notebook_parameters() -> set[str]:
    from utils import run

    return set().union(*(run.declared_parameters(notebook) for notebook in run.notebooks()))


@pytest.mark.parametrize("name", DOCS)
def test_every_command_block_parses_as_bash(name):
    for block in blocks(name):
        assert subprocess.run(["bash", "-n"], input=block, text=True, capture_output=True).returncode == 0, block


def test_results_and_the_guide_hold_no_ad_hoc_scripts():
    """Figures come from the project's own scripts: no inline Python, no scratch files in /tmp."""
    for name in ("docs/guide.md", "docs/RESULTS.md"):
        assert not blocks(name, "python"), f"{name}: an inline Python block"
        for command in python_commands(name):
            assert command[:1] != ["-c"], f"{name}: python -c {command[1:2]}"
    assert "/tmp/" not in (PROJECT / "docs/RESULTS.md").read_text()


@pytest.mark.parametrize("name", DOCS)
def test_every_python_command_of_the_docs_exists_with_its_options(name):
    """Each ``python -m utils.X`` and ``python bench/X.py`` line names a module or script of
    HEAD whose --help lists every option it passes, and each ``-p NAME=VALUE`` names a
    parameter some notebook declares."""
    declared = notebook_parameters()
    for command in python_commands(name):
        if command[:2] in (["-m", "venv"], ["-m", "pip"]):
            continue
        if command[:2] == ["-m", "pytest"]:
            for word in command[2:]:
                if word.startswith("tests/"):
                    assert (PROJECT / word.split("::")[0]).is_file(), f"{name}: {word}"
            continue
        if command[:1] == ["-m"]:
            target = tuple(command[:2])
            assert target[1].startswith("utils."), f"{name}: python -m {target[1]}"
            args = command[2:]
        else:
            assert command and command[0].endswith(".py") and (PROJECT / command[0]).is_file(), \
                f"{name}: python {' '.join(command[:2])}: no such script"
            target, args = (command[0],), command[1:]
        text = help_text(target)
        for i, word in enumerate(args):
            if re.fullmatch(r"--?[A-Za-z][\w-]*(=.*)?", word):
                flag = word.split("=", 1)[0]
                assert re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", text), \
                    f"{name}: {flag} is not an option of {' '.join(target)}"
                if flag in ("-p", "--param") and i + 1 < len(args):
                    parameter = args[i + 1].split("=", 1)[0]
                    assert parameter in declared, f"{name}: -p {parameter}: no notebook declares it"


def test_every_reference_to_a_results_section_names_one_that_exists():
    """``RESULTS.md, "Section"`` in code and docs, and ``RESULTS.md#anchor`` links, point at a
    heading of docs/RESULTS.md (or history.md's, for history.md)."""
    def headings(name):
        return [" ".join(h.split()) for h in re.findall(r"^#+ (.*)$", (PROJECT / "docs" / name).read_text(), re.M)]

    def anchor(heading):
        return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")

    files = [*PROJECT.glob("utils/**/*.py"), *PROJECT.glob("bench/**/*.py"), *PROJECT.glob("notebooks/*.ipynb"),
             PROJECT / "README.md", *PROJECT.glob("docs/*.md")]
    for name in ("RESULTS.md", "history.md"):
        titles = headings(name)
        for path in files:
            text = " ".join(path.read_text().replace('\\n",\n', " ").split())
            for quoted in re.findall(rf'{re.escape(name)}, "([^"]+)"', text):
                assert any(title.startswith(quoted) for title in titles), f"{path.name}: {name}, \"{quoted}\""
            for link in re.findall(rf"{re.escape(name)}#([\w-]+)", text):
                assert link in {anchor(t) for t in titles}, f"{path.name}: {name}#{link}"
