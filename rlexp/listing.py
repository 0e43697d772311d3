"""`rlexp list [--format text|markdown] [group]`: every option, preset and top-level key.

Sections: the registry's groups (env, network, agent, buffer, driver, wrapper), the
`logger` options, the `experiment` presets (a one-line `# doc:` comment in each YAML) and
`train`, the top-level keys (RlexpConfig: seed, train.*, sweep.*, ...). The Markdown form
is the documentation's reference pages (docs/reference/<section>.md, made by
docs/generate.py), so they cannot drift from the code. No TensorFlow here.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from rlexp import registry
from rlexp.options import option_node

SECTIONS = (*registry.GROUPS, "logger", "experiment", "train")
FORMATS = ("text", "markdown")
DOC_LINE = re.compile(r"^#\s*doc:\s*(.+?)\s*$", re.M)

INTROS = {
    "env": "The environment: a Gym/Gymnasium id, a native TF env, a suite (Atari, DM Control, "
    "MinAtar) or your own. Choose with `env=<option>`; set fields with `env.<field>=...`.",
    "network": "The agent's (primary) network. Choose with `network=<option>`; an agent may "
    "select its own (agent=ppo selects its actor and value networks).",
    "agent": "The TF-Agents agent and its hyperparameters. Choose with `agent=<option>`.",
    "buffer": "The replay buffer. Choose with `buffer=<option>`.",
    "driver": "How experience is collected: per step, per episode, or fused with training in "
    "one TensorFlow graph. Choose with `driver=<option>`; `auto` picks one.",
    "wrapper": "Env wrappers, applied in order: a list, "
    "`env.wrappers=[{name: TimeLimit, duration: 200}]`.",
    "logger": "Where parameters, scalars and artifacts go besides TensorBoard (whose files "
    "are always written). Choose with `logger=<option>`.",
    "experiment": "Presets: a whole recipe (env, agent, network, budget) in one word, "
    "`experiment=<preset>`; later overrides change any of its values. It fixes the options "
    "whose keys it sets: to use another, copy it into your own config directory and change "
    "it there. Each is a YAML file in rlexp/conf/experiment/ (or `experiment/` of your own "
    "config directory).",
    "train": "The top-level keys of every run (rlexp/schemas.py): the seed, the run's budget "
    "and schedule (`train.*`) and how sweep jobs run (`sweep.*`). Set them as `key=value`.",
}


class ListError(ValueError):
    """A bad `rlexp list` argument."""


@dataclasses.dataclass
class Entry:
    """One option (or preset, or the top-level config) and its fields (key, value, type, doc)."""

    name: str
    doc: str
    fields: list[tuple[str, str, str, str]]


def list_command(args: list[str], dirs: Sequence[Path] = ()) -> str:
    """The text `rlexp list args` prints; raises ListError for an unknown group or format."""
    fmt, sections = _parse(args)
    render = render_markdown if fmt == "markdown" else render_text
    return "\n".join(render(section, entries(section, dirs)) for section in sections)


# The overrides `rlexp list` reads: the plugins (and a preset's) add options to list, the
# search path adds presets. Any other override would change nothing it prints.
LIST_OVERRIDE = re.compile(r"^\+{0,2}(plugins|experiment|hydra\.searchpath)=")
VALUE_FLAGS = ("--format", "--config-dir", "-cd")


def _parse(args: list[str]) -> tuple[str, list[str]]:
    """The format and sections `args` ask for; a ListError for anything else."""
    fmt, words, rest = "text", [], list(args)
    while rest:
        arg = rest.pop(0)
        flag, eq, value = arg.partition("=")
        if arg in VALUE_FLAGS:
            if not rest or rest[0].startswith("-"):
                raise ListError(f"{arg} needs a value")
            value = rest.pop(0)
        if flag == "--format":
            fmt = value
        elif flag in VALUE_FLAGS:
            continue  # a config directory: `dirs`
        elif arg.startswith("-"):
            raise ListError(f"unknown option {arg!r}")
        elif eq and not LIST_OVERRIDE.match(arg):
            raise ListError(_override_text(arg))
        elif not eq:
            words.append(arg)
    if fmt not in FORMATS:
        raise ListError(f"unknown format {fmt!r}; formats are: {', '.join(FORMATS)}")
    unknown = [w for w in words if w not in SECTIONS]
    if unknown:
        raise ListError(f"unknown group {unknown[0]!r}; groups are: {', '.join(SECTIONS)}")
    return fmt, words or list(SECTIONS)


def _override_text(arg: str) -> str:
    """Why `rlexp list` refuses the override `arg`, and what lists what it names."""
    key = arg.partition("=")[0].lstrip("+~")
    if key in SECTIONS:
        return (
            f"{arg!r}: rlexp list takes a group, not an option; `rlexp list {key}` lists "
            f"every {key} option with its fields"
        )
    return (
        f"{arg!r}: rlexp list takes no overrides but plugins=[...], experiment=... and "
        f"hydra.searchpath=[...] (which add options or presets to list)"
    )


def entries(section: str, dirs: Sequence[Path] = ()) -> list[Entry]:
    """What `section` lists, in order."""
    if section == "experiment":
        return [Entry(name, preset_doc(path), []) for name, path in presets(dirs).items()]
    if section == "train":
        return [Entry("train", INTROS["train"], list(_walk_defaults(_root_schema(), "")))]
    if section == "logger":
        from rlexp.loggers.schemas import LOGGER_SCHEMAS

        return [
            Entry(name, _class_doc(schema), list(_walk_defaults(schema, "")))
            for name, schema in LOGGER_SCHEMAS.items()
        ]
    return [
        Entry(c.name, c.doc, list(option_fields(c, dirs))) for c in registry.components(section)
    ]


def presets(dirs: Sequence[Path] = ()) -> dict[str, Path]:
    """Experiment presets by name (`team/a` for experiment/team/a.yaml, as `experiment=team/a`
    selects it): rlexp's, then the user's config dirs' (Hydra's order)."""
    found: dict[str, Path] = {}
    for directory in (registry.CONF_DIR, *dirs):
        folder = Path(directory) / "experiment"
        for path in sorted(folder.rglob("*.yaml")):
            found.setdefault(path.relative_to(folder).with_suffix("").as_posix(), path)
    return found


def preset_doc(path: Path) -> str:
    """A preset's one-line doc: its `# doc: ...` comment line."""
    match = DOC_LINE.search(path.read_text())
    return match[1] if match else "(no `# doc:` line in its YAML file)"


def _root_schema() -> type:
    from rlexp.schemas import RlexpConfig

    return RlexpConfig


def _class_doc(schema: type) -> str:
    return (schema.__doc__ or "").strip().splitlines()[0] if schema.__doc__ else ""


def _walk_defaults(schema: type, prefix: str) -> Iterator[tuple[str, str, str, str]]:
    """(key, default, type, doc) of a schema's fields, nested dataclasses flattened; fields
    without a default (the groups' nodes: env, agent, ...) are left out."""
    from rlexp.schemas import field_doc

    for f in dataclasses.fields(schema):
        if f.name == "name":
            continue
        if f.default_factory is not dataclasses.MISSING:
            value = f.default_factory()
        elif f.default is not dataclasses.MISSING and f.default != "???":
            value = f.default
        else:
            continue
        if dataclasses.is_dataclass(value):
            yield from _walk_defaults(type(value), f"{prefix}{f.name}.")
            continue
        yield f"{prefix}{f.name}", _fmt(value), _type_name(f.type), field_doc(f)


def option_fields(component: registry.Component, dirs: Sequence[Path] = ()):
    """(key, value, type, doc) of each field: the values a run selecting the option gets."""
    node = option_node(component.group, component.name, dirs)
    yield from _walk(component.schema, node, OmegaConf.to_container(node, resolve=False), "")


def _walk(schema: type, node: DictConfig, values: dict, prefix: str):
    from rlexp.schemas import field_doc

    for f in dataclasses.fields(schema):
        key, value = f"{prefix}{f.name}", values.get(f.name)
        if f.name == "name":
            continue
        sub_schema = OmegaConf.get_type(node, f.name)
        if dataclasses.is_dataclass(sub_schema):  # nested (epsilon_greedy) or another option's
            if "name" in value:  # composed from an option (agent.value_network)
                option = _sub_node_option(value["name"], sub_schema)
                yield key, option.name, option.group, f"a `{option.group}` option: {option.doc}"
            yield from _walk(sub_schema, node[f.name], value, f"{key}.")
            continue
        yield key, _fmt(value), _type_name(f.type), field_doc(f)


def _sub_node_option(name: str, schema: type) -> registry.Component:
    """The registered option a sub-node (an agent's second network) is composed from."""
    return next(c for c in registry.components() if c.name == name and c.schema is schema)


def _fmt(value) -> str:
    value = getattr(value, "value", value)  # Enum members show their value
    return "null" if value is None else str(value)


def _type_name(annotation) -> str:
    text = (
        annotation
        if isinstance(annotation, str)
        else getattr(annotation, "__name__", str(annotation))
    )
    return text.replace("typing.", "")


def render_text(section: str, items: list[Entry]) -> str:
    lines = [f"{section}:"]
    width = max([14, *(len(e.name) + 1 for e in items)])
    for entry in items:
        if section != "train":
            lines.append(f"  {entry.name:<{width}} {entry.doc}")
        indent = "  " if section == "train" else "      "
        for key, value, type_name, doc in entry.fields:
            line = f"{indent}{key}: {type_name} = {value}"
            lines.append(f"{line:<58} {doc}" if doc else line)
    return "\n".join(lines) + "\n"


def render_markdown(section: str, items: list[Entry]) -> str:
    """A reference page: the section's intro, then each option with a table of its fields."""
    lines = [
        f"# {section}",
        "",
        f"<!-- Generated by `rlexp list --format markdown {section}`; do not edit. -->",
        "",
        INTROS.get(section, ""),
        "",
    ]
    if section == "experiment":
        lines += ["| preset | what it runs |", "|---|---|"]
        lines += [f"| `{e.name}` | {_cell(e.doc)} |" for e in items]
        return "\n".join(lines) + "\n"
    for entry in items:
        if section != "train":
            lines += [f"## {entry.name}", "", _cell(entry.doc), ""]
        if not entry.fields:
            lines += ["No fields.", ""]
            continue
        lines += ["| key | type | default | doc |", "|---|---|---|---|"]
        for key, value, type_name, doc in entry.fields:
            lines.append(f"| `{key}` | {_cell(type_name)} | {_cell(value)} | {_cell(doc)} |")
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")
