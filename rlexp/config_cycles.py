"""Config files whose defaults lists include each other in a circle.

Hydra follows such a circle until Python's stack runs out (a RecursionError, thousands of
lines of traceback). rlexp's own configs have none, so a circle runs through the user's
config directories: `defaults_cycle` finds it there, for an error that names the files.
No TensorFlow, no Hydra here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from rlexp import registry


def cycle_text(files: Sequence[Path]) -> str:
    """The error for `files` (the circle, its first file again at the end; none: a circle
    rlexp could not trace, through files outside the user's config directories)."""
    text = "config files include each other in a circle through their defaults lists"
    if not files:
        return f"{text} (Hydra recursed without end); rlexp --debug shows where"
    return f"{text}: {' -> '.join(map(str, files))}; remove one of these entries"


def defaults_cycle(dirs: Sequence[Path]) -> list[Path] | None:
    """A circle of config files (the first again at the end) that the defaults lists of the
    files in `dirs` run through; None when there is none."""
    roots = [registry.CONF_DIR, *(Path(d).resolve() for d in dirs)]
    for directory in roots[1:]:
        for path in sorted(directory.rglob("*.yaml")):
            group = path.relative_to(directory).parent.as_posix()
            cycle = _walk(path, "" if group == "." else group, roots, ())
            if cycle:
                return cycle
    return None


def _walk(path: Path, group: str, roots: list[Path], chain: tuple[Path, ...]) -> list | None:
    if path in chain:
        return [*chain[chain.index(path) :], path]
    for name in _included(path, group):
        included = next((r / f"{name}.yaml" for r in roots if (r / f"{name}.yaml").is_file()), None)
        if included is not None:
            cycle = _walk(included, name.rpartition("/")[0], roots, (*chain, path))
            if cycle:
                return cycle
    return None


def _included(path: Path, group: str) -> Iterator[str]:
    """The configs (`agent/dqn`) the defaults list of `path`, a config of `group`, names:
    `x`, `x@pkg` and `/g/x` entries, and the options of `g: x` and `override /g: x`."""
    try:
        node = OmegaConf.load(path)
    except Exception:  # noqa: BLE001 (a broken file: Hydra names it)
        return
    entries = node.get("defaults") if isinstance(node, DictConfig) else None
    for entry in entries or []:
        if isinstance(entry, str):
            target = entry
        elif isinstance(entry, DictConfig) and len(entry) == 1:
            key, option = next(iter(entry.items()))
            if not isinstance(option, str):
                continue
            target = f"{str(key).split()[-1].split('@')[0]}/{option}"
        else:
            continue
        target = target.split("@")[0].strip()
        if target != "_self_":
            yield target[1:] if target.startswith("/") else f"{group}/{target}".lstrip("/")


@contextlib.contextmanager
def cycles_named(dirs: Sequence[Path]) -> Iterator[None]:
    """Turn Hydra's RecursionError into a RegistryError naming the circle of files."""
    try:
        yield
    except RecursionError as exc:
        raise registry.RegistryError(cycle_text(defaults_cycle(dirs) or [])) from exc
