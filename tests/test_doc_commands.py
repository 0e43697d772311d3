"""Every `rlexp train ...` command the concept and how-to pages show composes and validates
as `rlexp train` would (in this process, nothing trains), or, where the page shows it
refused, is refused with the text the page shows (`...` there stands for any text): by
composition, or else by the real command, into a temporary run directory (a refusal while
building the run's components)."""

from __future__ import annotations

import importlib.util
import itertools
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [
    ROOT / "README.md",
    ROOT / "docs" / "index.md",
    *sorted((ROOT / "docs" / "concepts").glob("*.md")),
    *sorted((ROOT / "docs" / "how-to").glob("*.md")),
]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
PLUGIN_DIRS = ("examples", "tests/plugins")  # where the pages' plugin modules are
EXTRA_REFUSAL = re.compile(r"needs the optional '(\w+)' extra")


@dataclass(frozen=True)
class Command:
    page: str
    line: int
    cwd: str  # relative to the repository root
    args: tuple[str, ...]  # after `rlexp train`
    shown: str | None  # the output a ```text block shows, None in a ```bash block

    def __str__(self) -> str:
        return f"{self.page}:{self.line}"


def _words(line: str) -> list[str]:
    return shlex.split(line, comments=True)


def commands() -> list[Command]:
    found = []
    for page in PAGES:
        text = page.read_text()
        name = str(page.relative_to(ROOT))
        for block in FENCE.finditer(text):
            first = text.count("\n", 0, block.start(2)) + 1
            lines = block.group(2).splitlines()
            if block.group(1) == "bash":
                found += _bash_commands(name, first, lines)
            elif block.group(1) in ("text", "console"):
                found += _shown_commands(name, first, lines)
    return found


def _bash_commands(page: str, first: int, lines: list[str]) -> list[Command]:
    found, cwd, i = [], ".", 0
    while i < len(lines):
        number, line = first + i, lines[i]
        while line.endswith("\\") and i + 1 < len(lines):
            i += 1
            line = line[:-1] + " " + lines[i]
        i += 1
        words = _words(line)
        if words[:1] == ["cd"]:
            cwd = str(Path(cwd, words[1]))
        elif words[:2] == ["rlexp", "train"]:
            found.append(Command(page, number, cwd, tuple(words[2:]), None))
    return found


def _shown_commands(page: str, first: int, lines: list[str]) -> list[Command]:
    found = []
    starts = [i for i, line in enumerate(lines) if line.startswith("$ ")] + [len(lines)]
    for start, end in itertools.pairwise(starts):
        words = _words(lines[start][2:])
        cwd = "."
        if words[:1] == ["cd"] and words[2:3] == ["&&"]:
            cwd, words = words[1], words[3:]
        if words[:2] == ["rlexp", "train"]:
            shown = "\n".join(lines[start + 1 : end])
            found.append(Command(page, first + start, cwd, tuple(words[2:]), shown))
    return found


def _outcome(args: list[str]) -> str | None:
    """None if `rlexp train ARGS` composes and validates, else what rlexp prints."""
    from rlexp.composition import compose_config
    from rlexp.override_errors import error_text
    from rlexp.registry import RegistryError
    from rlexp.validation import ConfigError

    try:
        compose_config(args)
    except (ConfigError, RegistryError) as exc:
        return f"rlexp: error: {exc}"
    except Exception as exc:  # Hydra's and OmegaConf's, worded as the CLI words them
        return f"rlexp: error: {error_text(exc)}"
    return None


def _matches(shown: str, printed: str) -> bool:
    pattern = ".*?".join(re.escape(part) for part in shown.split("..."))
    return re.fullmatch(pattern, printed) is not None


COMMANDS = commands()


def test_the_pages_show_commands():
    pages = {command.page for command in COMMANDS}
    assert "docs/concepts/components.md" in pages, pages
    assert sum(c.shown is not None for c in COMMANDS) >= 5


def _refusal_when_built(command: Command, run_cli, run_dir: Path) -> str:
    """What the real `rlexp train` prints on stderr for a command that composes, run into
    `run_dir`; it must exit 2 and leave nothing there."""
    result = run_cli("train", *command.args, f"hydra.run.dir={run_dir}", cwd=ROOT / command.cwd)
    assert result.code == 2, f"{command}: {result.describe()}"
    assert not run_dir.exists(), f"{command}: the refused run left {sorted(run_dir.iterdir())}"
    return result.err.strip()


@pytest.mark.parametrize("command", COMMANDS, ids=str)
def test_a_shown_command_composes_or_is_refused_as_shown(command, monkeypatch, run_cli, tmp_path):
    from rlexp.composition import plugin_modules
    from rlexp.extras import EXTRAS

    args = list(command.args)
    if "--cfg" in args:  # Hydra's flag: print the composed config
        at = args.index("--cfg")
        del args[at : at + 2]
    assert not any(a.startswith("-") for a in args), f"{command}: a flag this test cannot read"
    cwd = ROOT / command.cwd
    monkeypatch.chdir(cwd)
    monkeypatch.syspath_prepend(str(cwd))  # plugins=[...] are imported from there
    absent = [m for m in plugin_modules(args) if importlib.util.find_spec(m) is None]
    in_repo = [
        f"{d}/{m}.py" for m in absent for d in PLUGIN_DIRS if (ROOT / d / f"{m}.py").is_file()
    ]
    assert not in_repo, f"{command}: run from the plugin's directory (cd ...): {in_repo}"
    if absent:
        pytest.skip(f"plugins {absent}: a module the page has the reader write")
    refused = command.shown is not None and command.shown.startswith("rlexp: error:")
    extra = EXTRA_REFUSAL.search(command.shown or "")
    if refused and extra and EXTRAS[extra.group(1)].installed():
        pytest.skip(f"shows the refusal without the {extra.group(1)} extra, which is installed")
    printed = _outcome(args)
    if printed is not None and not refused:
        needed = EXTRA_REFUSAL.search(printed)
        if needed and not EXTRAS[needed.group(1)].installed():
            pytest.skip(f"needs the {needed.group(1)} extra, not installed")
    where = f"{command} `rlexp train {shlex.join(command.args)}`"
    if refused:
        if printed is None:
            assert not any(a.startswith("hydra.run.dir=") for a in args), where
            printed = _refusal_when_built(command, run_cli, tmp_path / "run")
        assert _matches(command.shown, printed), f"{where} prints:\n{printed}"
    else:
        assert printed is None, f"{where} is refused:\n{printed}"
