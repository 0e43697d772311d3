"""The component registry: one entry per (group, name), the only component catalogue.

An entry is a builder function, its typed schema and a one-line doc. Configs select
entries by name; nothing in a config imports code. Built-ins and user plugins register
with the same `register` decorator. Importing this module never imports TensorFlow.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.metadata
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlexp.schemas import GROUP_BASES, declared_facts

# Hydra config groups: a run selects exactly one option of each (`env=cartpole`).
CONFIG_GROUPS = ("env", "network", "agent", "buffer", "driver")
# Registry groups whose entries are not run-level choices but parts of one: a `wrapper` is
# named in the ordered `env.wrappers` list of a Python env option. They have no config group
# (no `wrapper=...` override) and no ConfigStore option; `rlexp list` documents them.
PART_GROUPS = ("wrapper",)
GROUPS = CONFIG_GROUPS + PART_GROUPS
ENTRY_POINT_GROUP = "rlexp.components"
BUILTIN_MODULES = ("rlexp.envs", "rlexp.networks", "rlexp.agents", "rlexp.buffers", "rlexp.drivers")
CONF_DIR = Path(__file__).resolve().parent / "conf"
MODULE_NAME = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
OPTION_NAME = re.compile(r"^[A-Za-z_][\w-]*$")  # selectable as `group=name`, a YAML file's name

Builder = Callable[[Any, Any], Any]


@dataclass(frozen=True)
class Component:
    group: str
    name: str
    builder: Builder
    schema: type
    doc: str
    module: str


_REGISTRY: dict[tuple[str, str], Component] = {}


class RegistryError(ValueError):
    """A component or plugin that cannot be registered or found."""


def register(group: str, name: str, *, schema: type, doc: str) -> Callable[[Builder], Builder]:
    """Register `build(cfg, context)` as the builder of option `name` in config group `group`."""
    if group not in GROUPS:
        raise RegistryError(f"unknown group {group!r}; groups are: {', '.join(GROUPS)}")
    if not isinstance(name, str) or not OPTION_NAME.match(name):
        raise RegistryError(
            f"{group} option name {name!r} cannot be selected as {group}=<name>; use letters, "
            f"digits, _ and - (starting with a letter or _)"
        )
    if not dataclasses.is_dataclass(schema):
        raise RegistryError(f"schema of {group}/{name} must be a dataclass, got {schema!r}")
    _check_facts(group, name, schema)
    if not schema.__module__.startswith("rlexp."):  # rlexp's own are checked by its tests
        _check_structured(group, name, schema)

    def decorator(builder: Builder) -> Builder:
        existing = _REGISTRY.get((group, name))
        same = (builder.__module__, builder.__qualname__)  # the same builder, imported again
        if existing is not None and (existing.module, existing.builder.__qualname__) != same:
            raise RegistryError(
                f"{group}/{name} is registered twice: by {existing.module} and {builder.__module__}"
            )
        _REGISTRY[(group, name)] = Component(
            group, name, builder, schema, doc.strip(), builder.__module__
        )
        return builder

    return decorator


def _check_structured(group: str, name: str, schema: type) -> None:
    """A config can hold the schema: OmegaConf takes each field's type (a plugin's
    `np.ndarray` field fails here, named, not at the first command that composes)."""
    from omegaconf import OmegaConf

    try:
        OmegaConf.structured(schema)
    except Exception as exc:  # OmegaConf's errors for an unsupported annotation or default
        reason = str(exc).splitlines()[0]
        raise RegistryError(
            f"schema {schema.__module__}.{schema.__qualname__} of {group}/{name} cannot be a "
            f"config: {reason}; config fields hold int, float, bool, str, enums, lists, dicts "
            f"and dataclasses of them"
        ) from None


def _check_facts(group: str, name: str, schema: type) -> None:
    """The schema subclasses its group's base and sets no class attribute that is not a
    declared fact of it (so a misspelt fact is an error, not an ignored attribute)."""
    base = GROUP_BASES[group]
    where = f"schema {schema.__module__}.{schema.__qualname__} of {group}/{name}"
    if not (isinstance(schema, type) and issubclass(schema, base)):
        raise RegistryError(
            f"{where} must subclass rlexp.schemas.{base.__name__}, the base of the {group} "
            f"group that declares its facts ({', '.join(sorted(declared_facts(base)))}): "
            f"class {schema.__name__}({base.__name__}) (or a subclass of it)"
        )
    facts = declared_facts(base)
    fields = {f.name for f in dataclasses.fields(schema)}
    for cls in schema.__mro__[: schema.__mro__.index(base)]:
        for attr, value in vars(cls).items():
            if attr.startswith("_") or attr in fields or attr in facts:
                continue
            if callable(value) or isinstance(value, staticmethod | classmethod | property):
                continue
            raise RegistryError(
                f"{where} sets {attr!r}, which is neither a field nor a fact of "
                f"{base.__name__}; its facts: {', '.join(sorted(facts))}. Correct the name, "
                f"make it a field (with a type annotation), or prefix it with '_'"
            )


def get(group: str, name: str) -> Component:
    """The entry for (group, name), or an error listing the registered names of the group."""
    try:
        return _REGISTRY[(group, name)]
    except KeyError:
        raise RegistryError(
            f"{group} {name!r} has no registered builder; registered {group} options: "
            f"{', '.join(names(group)) or '(none)'}. A component from your own module must be "
            f"listed under `plugins:` in the config (or installed with an "
            f"'{ENTRY_POINT_GROUP}' entry point)."
        ) from None


def names(group: str) -> list[str]:
    return sorted(name for g, name in _REGISTRY if g == group)


def components(group: str | None = None) -> list[Component]:
    return [c for key, c in sorted(_REGISTRY.items()) if group in (None, key[0])]


def load_builtins() -> None:
    for module in BUILTIN_MODULES:
        importlib.import_module(module)


def load_plugins(modules: Iterable[str]) -> None:
    """Import user modules (from `plugins:`) and installed `rlexp.components` entry points.

    The working directory is searched for the listed modules after the environment, so a
    file there never stands in for a dependency, and only when a module is listed; entry
    points come from installed distributions only, never from the working directory."""
    modules = list(modules)
    cwd = str(Path.cwd())
    for entry_point in _installed_entry_points(cwd):
        try:
            _import(entry_point.value, f"entry point {entry_point.name} ({entry_point.value})")
        except RegistryError as exc:
            dist = entry_point.dist.name if entry_point.dist is not None else None
            if dist is None:
                raise
            raise RegistryError(
                f"{exc}\nThe entry point is installed by the distribution {dist!r}: fix it, "
                f"or remove it with: pip uninstall {dist}"
            ) from exc
    if modules and "" not in sys.path and cwd not in sys.path:
        sys.path.append(cwd)
    for module in modules:
        if not isinstance(module, str) or not MODULE_NAME.match(module):
            raise RegistryError(
                f"plugins: {module!r} is not a module name; a plugin is named as you would "
                f"import it (plugins=[my_envs] for my_envs.py in the working directory, or "
                f"plugins=[package.module]), never by a path"
            )
        _check_not_shadowed(_import(module, f"module {module!r}"), cwd)


def _installed_entry_points(cwd: str) -> list[importlib.metadata.EntryPoint]:
    """The `rlexp.components` entry points of the distributions installed on sys.path,
    none from a distribution in the working directory. (importlib's own lookup, one per
    distribution name: reading every distribution's metadata would cost ~40 ms a command.)"""
    here = {"", ".", cwd}
    return [
        entry_point
        for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
        if entry_point.dist is None or str(entry_point.dist.locate_file("")) not in here
    ]


def _import(target: str, what: str) -> Any:
    """Import `target` (a module, or `module:attr` of an entry point); a failure is a
    RegistryError naming `what`."""
    module, _, attr = target.partition(":")
    try:
        imported = importlib.import_module(module.strip())
        return getattr(imported, attr.strip()) if attr else imported
    except ImportError as exc:
        raise RegistryError(
            f"plugins: cannot import {what} ({exc}). Plugins are Python modules "
            f"importable from the working directory or the environment."
        ) from exc
    except Exception as exc:  # the plugin's own code failed while importing
        raise RegistryError(
            f"plugins: importing {what} failed: {type(exc).__name__}: {exc} "
            f"(an error in the plugin's code; --debug shows the traceback)"
        ) from exc


def _check_not_shadowed(module: Any, cwd: str) -> None:
    """A plugin file in the working directory named like an installed or standard-library
    module would silently not be the one imported: refuse it, naming both."""
    top = module.__name__.split(".")[0]
    local = next(
        (p for p in (Path(cwd) / f"{top}.py", Path(cwd) / top / "__init__.py") if p.is_file()),
        None,
    )
    imported = getattr(sys.modules[top], "__file__", None)
    if local is not None and (imported is None or Path(imported).resolve() != local.resolve()):
        raise RegistryError(
            f"plugins: {top!r} imports {imported or 'a built-in module'}, not {local}: a "
            f"module of that name comes first; rename your file (and its plugins entry)"
        )


def store_schemas(has_yaml: Callable[[str, str], bool]) -> None:
    """Put every entry's schema in Hydra's ConfigStore.

    Each schema goes to `schema/<group>/<name>`, which the option's YAML file extends
    (so a misspelt key or a wrong type fails at compose time). An entry with no YAML file
    (`has_yaml(group, name)` false: a plugin's) also gets its option stored directly as
    `<group>/<name>`. Entries of PART_GROUPS are not config groups: their schemas are
    applied by their owner's validation (for example each `env.wrappers` entry), not stored.
    """
    from hydra.core.config_store import ConfigStore

    store = ConfigStore.instance()
    for component in _REGISTRY.values():
        if component.group not in CONFIG_GROUPS:
            continue
        store.store(group=f"schema/{component.group}", name=component.name, node=component.schema)
        if not has_yaml(component.group, component.name):
            store.store(group=component.group, name=component.name, node=_option_node(component))


def _option_node(component: Component) -> Any:
    """The option of an entry with no YAML file: its schema's defaults and its name. Built by
    OmegaConf, not by calling the dataclass, so a field without a default (`size: int`) is a
    required value (???) that validation names, as a `size: int = MISSING` field is."""
    from omegaconf import OmegaConf

    node = OmegaConf.structured(component.schema)
    node.name = component.name
    return node
