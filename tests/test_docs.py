"""Every example in README.md and docs/*.md runs: each ```python block (the blocks of one page share
a namespace, in order), and each ```bash block marked `<!-- runnable -->` on the line above it,
whose lines are `ohq ...` commands. They run in a fresh folder holding a copy of docs/examples."""

from __future__ import annotations

import doctest
import shlex
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ohq.cli import app

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MARK = "<!-- runnable -->"


def fenced(path: Path) -> list[tuple[str, int, str, bool]]:
    """(language, first line number, code, marked runnable) of every fenced block in `path`."""
    out, lines, i = [], path.read_text().splitlines(), 0
    while i < len(lines):
        if lines[i].startswith("```"):
            lang, start = lines[i][3:].strip(), i + 1
            marked = i > 0 and lines[i - 1].strip() == MARK
            j = start
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            out.append((lang, start + 1, "\n".join(lines[start:j]), marked))
            i = j + 1
        else:
            i += 1
    return out


def commands(code: str) -> list[list[str]]:
    """The commands of a shell block: continuation lines joined, comments dropped."""
    joined = code.replace("\\\n", " ")
    return [args for line in joined.splitlines() if (args := shlex.split(line, comments=True))]


PYTHON = [p for p in PAGES if any(lang == "python" for lang, *_ in fenced(p))]
BASH = [(p, n, code) for p in PAGES for lang, n, code, marked in fenced(p) if lang == "bash" and marked]


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    shutil.copytree(ROOT / "docs" / "examples", tmp_path / "docs" / "examples")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_pages_have_examples():
    assert PYTHON and BASH
    for path in PAGES:  # a marker must sit right above a bash block
        lines = path.read_text().splitlines()
        for i, line in enumerate(lines):
            if line.strip() == MARK:
                assert lines[i + 1].startswith("```bash"), f"{path.name}:{i + 1}"


@pytest.mark.slow
@pytest.mark.parametrize("path", PYTHON, ids=lambda p: p.name)
def test_python_examples_run(path, workdir):
    namespace: dict = {"__name__": "__doc_example__"}
    for lang, line, code, _ in fenced(path):
        if lang == "python" and code.lstrip().startswith(">>>"):  # a doctest session: outputs checked
            _run_doctest(code, namespace, f"{path.name}:{line}")
        elif lang == "python":
            exec(compile("\n" * (line - 1) + code, str(path), "exec"), namespace)  # noqa: S102


def _run_doctest(code: str, namespace: dict, name: str) -> None:
    test = doctest.DocTestParser().get_doctest(code, namespace, name, name, 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    runner.run(test, clear_globs=False)
    assert runner.failures == 0, f"{name}: {runner.failures} doctest example(s) failed (output above)"


@pytest.mark.slow
@pytest.mark.parametrize("path, line, code", BASH, ids=[f"{p.name}:{n}" for p, n, _ in BASH])
def test_runnable_shell_examples_run(path, line, code, workdir):
    runner = CliRunner()
    for args in commands(code):
        assert args[0] == "ohq", f"{path.name}:{line}: a runnable block holds only ohq commands, got {args[0]}"
        result = runner.invoke(app, args[1:])  # in-process: one torch import for the whole block
        assert result.exit_code == 0, f"{path.name}:{line}: {shlex.join(args)}\n{result.output}"
