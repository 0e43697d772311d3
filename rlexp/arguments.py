"""Command-line arguments that are directories: a path may hold `=`, spaces or any
character (every Hydra sweep job folder is named `<n>_<key>=<value>`)."""

from __future__ import annotations

import re
from pathlib import Path

OPTION = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def split_paths(
    args: list[str], option_names: set[str]
) -> tuple[list[str], dict[str, str], list[str]]:
    """(paths, options, unknown options) of `args`.

    An existing path is a path, even with `=` in it; `name=value` with a plain name is an
    option (known or unknown); anything else is a path (reported later if missing). An
    option given twice raises ValueError: which one was meant is not known.
    """
    paths, options, unknown = [], {}, []
    for arg in args:
        if Path(arg).exists() or not OPTION.match(arg):
            paths.append(arg)
            continue
        key, value = arg.split("=", 1)
        if key in options:
            raise ValueError(given_twice(key, options[key], value))
        if key in option_names:
            options[key] = value
        else:
            unknown.append(arg)
    return paths, options, unknown


def given_twice(key: str, first: str, second: str) -> str:
    return f"{key} is given twice ({key}={first}, {key}={second}); give it once"
