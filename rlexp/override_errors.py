"""What is wrong with a command-line override or a config file, in words a user can act on.

Hydra reports a refused override as "Error merging override K=V" over OmegaConf's reason
(`Value 'abc' of type 'str' could not be converted to Integer full_key: ... object_type=...`),
and an override it cannot parse with its grammar's "no viable alternative at input ...".
`error_text` turns these into one line that names the override and what its key takes; a
config file YAML cannot read into `FILE:LINE:COLUMN`; a user's preset without its
`# @package _global_` header into that fix.

Imports nothing heavy; no TensorFlow.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import typing

from rlexp.bounds import unknown_key, value_takes
from rlexp.registry import CONFIG_GROUPS

GRAMMAR_URL = "https://hydra.cc/docs/1.3/advanced/override_grammar/basic"
QUOTING_HINT = (
    "an override holding spaces, brackets or braces must reach rlexp as one word: quote it "
    "for the shell, e.g. 'env.wrappers=[{name: TimeLimit, duration: 200}]'; a value "
    "holding characters of the grammar (such as ; ~ = ,) also needs quotes of its own "
    "inside: 'key=\"a;b\"'"
)
HOME_HINT = "`~` is not expanded in an override: give the path from / or as $HOME/..."


_ONE_OF = re.compile(r"Invalid value '.*', expected one of \[(.*)\]")


def is_input_error(exc: BaseException) -> bool:
    """Whether Hydra refused the command line itself: an override, a config or option it
    cannot find, a value of the wrong type, a config file that is not YAML, flags that do
    not go together."""
    import yaml
    from hydra.errors import (
        ConfigCompositionException,
        MissingConfigException,
        OverrideParseException,
    )

    return isinstance(
        exc,
        ConfigCompositionException
        | MissingConfigException
        | OverrideParseException
        | yaml.YAMLError,
    ) or (isinstance(exc, ValueError) and str(exc).startswith(HYDRA_FLAG_ERRORS))


# Hydra's flags that cannot go together, raised as bare ValueErrors.
HYDRA_FLAG_ERRORS = ("Only one of --run, --multirun", "Expecting one subcommand from")


def error_text(exc: BaseException) -> str:
    """One line per problem: the override and what its key takes, where Hydra and OmegaConf
    say why they refused it; otherwise the error and its direct cause, as Hydra prints them.
    A key the schema lacks gets the nearest valid keys instead of Hydra's advice to add it
    with '+', which a typed config refuses too."""
    known = (
        _unknown_key(exc)
        or _wrong_value(exc)
        or _undeletable(exc)
        or _unparsable(exc)
        or _bad_yaml(exc)
    )
    if known:
        return known
    parts = [_one_line(exc)]
    cause = exc.__cause__
    if cause is not None and str(cause).strip():
        parts.append(_one_line(cause))
    from rlexp.extras import missing_plugin_hint

    hints = _preset_header_hint(parts[0]) + _own_option_hint(parts[0])
    return "\n    ".join(parts) + hints + missing_plugin_hint(parts[0])


def _preset_header_hint(text: str) -> str:
    """A preset of the user's whose keys Hydra put under `experiment.`: it lacks the
    header every preset starts with."""
    preset = re.search(r"In 'experiment/([^']+)'", text)
    if not (preset and ("@experiment." in text or "Key 'experiment' not in" in text)):
        return ""
    return (
        f"; experiment/{preset.group(1)}.yaml must start with the line `# @package _global_`"
        f" (a preset sets the config's own keys: docs/how-to/user-project.md)"
    )


def _own_option_hint(text: str) -> str:
    """An option Hydra cannot find may be one of the user's: say how rlexp finds those."""
    groups = "|".join(CONFIG_GROUPS)
    missing = re.search(rf"Could not find '({groups})/([^']+)'", text)
    if not missing:
        return ""
    group, name = missing.groups()
    options = re.search(rf"Available options in '{group}':((?: [\w-]+)+)", text)
    close = difflib.get_close_matches(name, options.group(1).split() if options else [], n=1)
    typo = f" Did you mean {group}={close[0]}?" if close else ""
    return "." + typo + (
        f" If {group}={name} is your own, list the module that registers it "
        f"(plugins=[your_module], run from its directory) or give its YAML file's config "
        f"directory (--config-dir DIR): docs/how-to/own-components.md"
    )


def _one_line(exc: BaseException) -> str:
    """The message on one line, without Hydra's config search path (rlexp's own)."""
    return " ".join(str(exc).split()).split(" Config search path:")[0]


def unknown_key_of(exc: BaseException) -> str | None:
    """The full key (`agent.num_atoms`) a typed config lacks, when that is why Hydra
    refused to compose it."""
    from omegaconf.errors import ConfigAttributeError, ConfigKeyError

    cause = exc.__cause__ or exc.__context__  # a config file's key: raised while handling
    if not isinstance(cause, ConfigAttributeError | ConfigKeyError):
        return None
    schema, key, full_key = cause.object_type, cause.key, str(cause.full_key or "")
    if not (dataclasses.is_dataclass(schema) and isinstance(key, str) and full_key):
        return None
    if key in {f.name for f in dataclasses.fields(schema)}:
        return None
    if full_key.split(".")[0] == "experiment":
        return None  # a preset's keys under `experiment.`: it lacks its header (below)
    return full_key


def _unknown_key(exc: BaseException) -> str | None:
    full_key = unknown_key_of(exc)
    if full_key is None:
        return None
    cause = exc.__cause__ or exc.__context__
    schema, key = cause.object_type, cause.key
    # Hydra's message ends with the override itself: "... use +<key>=<value>".
    _, advice, override = _one_line(exc).rpartition(" use +")
    shown = override if advice and override.startswith(f"{full_key}=") else full_key
    in_file = re.match(r"In '([\w/.-]+)': ", _one_line(exc))  # a key set in that config file
    if in_file and _is_builtin_preset(in_file.group(1)):
        return _preset_combination(in_file.group(1).partition("/")[2], full_key, cause)
    where = f"{in_file.group(1)}.yaml: " if in_file else ""
    hint = _wrappers_hint(cause) if full_key == "env.wrappers" else ""
    return f"{where}{shown}: {unknown_key(key, full_key.rpartition('.')[0], schema)}{hint}"


def _wrappers_hint(cause: BaseException) -> str:
    """`env.wrappers` on an env option without it: wrappers wrap Python envs only."""
    from rlexp import registry

    node = cause.parent_node
    name = node.get("name") if node is not None else None
    python_envs = [
        option
        for option in registry.names("env")
        if "wrappers" in {f.name for f in dataclasses.fields(registry.get("env", option).schema)}
    ]
    shown = ", ".join(f"env={option}" for option in python_envs)
    return (
        f"; env.wrappers wrap a Python env, and env={name} is not one (its env is built in "
        f"TensorFlow); the options that take wrappers: {shown}"
    )


def _is_builtin_preset(config_name: str) -> bool:
    from rlexp.registry import CONF_DIR

    group, _, name = config_name.partition("/")
    return group == "experiment" and (CONF_DIR / "experiment" / f"{name}.yaml").is_file()


def _preset_combination(preset: str, full_key: str, cause: BaseException) -> str:
    """A key of one of rlexp's presets (tested to compose with its own options) that the
    option the user chose instead lacks: the user wrote neither, and cannot edit the
    preset, so the fix is the preset's own option or a copy of the preset."""
    from rlexp.registry import CONF_DIR

    group = full_key.split(".")[0]
    node = cause.parent_node
    while node is not None and node._get_full_key(None) != group:
        node = node._get_parent()
    name = node.get("name") if node is not None else None
    chosen = f"{group}={name}" if name else f"the {group} you chose"
    source = CONF_DIR / "experiment" / f"{preset}.yaml"
    return (
        f"experiment={preset} sets {full_key}, which {chosen} does not have: a preset "
        f"fixes its own options, so use it with its own {group} (leave out {chosen}), or "
        f"copy the preset into your config directory under a name of its own "
        f"(mkdir -p conf/experiment; cp {source} conf/experiment/my_{preset}.yaml), change "
        f"it there and run `rlexp train --config-dir conf experiment=my_{preset} ...` "
        f"(docs/how-to/user-project.md)"
    )


def _wrong_value(exc: BaseException) -> str | None:
    """`K=V: K must be an integer` for an override OmegaConf refused to merge."""
    from omegaconf.errors import ConfigTypeError, ValidationError

    cause = exc.__cause__
    override = _one_line(exc).partition("Error merging override ")[2]
    if not (isinstance(cause, ValidationError | ConfigTypeError) and override and cause.full_key):
        return None
    reason, key = str(cause.msg), str(cause.full_key)
    takes = value_takes(reason, key)
    one_of = _ONE_OF.search(reason)
    if one_of:
        takes = f"must be one of {one_of.group(1)}"
    elif "Invalid type assigned" in reason:  # a value for a node of settings
        takes = _settings_of(_field_type(cause.object_type, str(cause.key)), key)
    elif "Cannot merge DictConfig with ListConfig" in reason:  # either way round
        node = cause.object_type
        takes = "must be a list: {key}=[...]" if node is list else _settings_of(node, key)
    return f"{override}: {key} {takes.format(key=key)}" if takes else None


def deletion_refused(key: str) -> str:
    """Why `~key` is refused: every key of rlexp's typed config has a value that is read."""
    return (
        f"~{key}: {key} cannot be deleted, rlexp reads it; set a value instead ({key}=...), "
        f"or leave it out of the command for its default"
    )


def _undeletable(exc: BaseException) -> str | None:
    """`~train.env_steps`: OmegaConf's "TrainConfig (DictConfig) does not support deletion"."""
    from omegaconf.errors import ConfigTypeError

    cause = exc.__cause__
    if isinstance(cause, ConfigTypeError) and "does not support deletion" in str(cause.msg):
        return deletion_refused(str(cause.full_key))
    return None


def _field_type(schema: object, field: str) -> object:
    try:
        return typing.get_type_hints(schema).get(field)
    except (NameError, TypeError):
        return None


def _settings_of(node: object, key: str) -> str | None:
    """What a key that holds a group of settings (`node`, a dataclass) takes: its own keys,
    one by one."""
    if not dataclasses.is_dataclass(node):
        return None
    names = sorted(f.name for f in dataclasses.fields(node))
    return (
        f"holds settings, not one value: set them one by one, e.g. {key}.{names[0]}=...; "
        f"its keys: {', '.join(names)}"
    )


def _bad_yaml(exc: BaseException) -> str | None:
    """`FILE:LINE:COLUMN: not valid YAML: ...` for a config file YAML cannot read."""
    import yaml

    found: BaseException | None = exc
    while found is not None and not isinstance(found, yaml.MarkedYAMLError):
        found = found.__cause__ or found.__context__
    if found is None or found.problem_mark is None:
        return None
    mark, began = found.problem_mark, found.context_mark
    context = found.context
    if context and began is not None and began.line != mark.line:
        context += f" (from line {began.line + 1}, column {began.column + 1})"
    why = ", ".join(str(part) for part in (context, found.problem) if part)
    return f"{mark.name}:{mark.line + 1}:{mark.column + 1}: not valid YAML: {why}"


def _unparsable(exc: BaseException) -> str | None:
    from hydra.errors import OverrideParseException

    if not isinstance(exc, OverrideParseException):
        return None
    reason = _one_line(exc).split(" See https://hydra.cc/")[0]
    hint = HOME_HINT if "=~/" in reason else QUOTING_HINT
    outside = sorted({c for c in exc.override if ord(c) > 127})
    if outside:  # the lexer's reason ("LexerNoViableAltException: ...") says nothing more
        reason = exc.override
        hint = (
            f"an unquoted value holds ASCII characters only; {' '.join(outside)} needs quotes "
            f"of its own inside the override (besides the shell's): "
            f"'hydra.run.dir=\"my runs/{outside[0]}\"'"
        )
    return f"{reason}: not an override in Hydra's grammar ({GRAMMAR_URL}); {hint}"
