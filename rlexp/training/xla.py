"""What XLA refused to compile, in a line the user can act on instead of TF's graph dump."""

from __future__ import annotations

import re

_REFUSED = "Detected unsupported operations when trying to compile"
_OP = re.compile(r"(\w+) \(No registered '\w+' OpKernel for XLA_\w+_JIT")
_NODE = re.compile(r"compatible with node \{\{node ([^}]+)\}\}")


def unsupported(exc: BaseException) -> str | None:
    """`op PyFunc (node while/QNetwork/PyFunc)` when `exc` is XLA refusing ops it has no
    kernel for, else None."""
    text = str(exc)
    if _REFUSED not in text:
        return None
    ops = list(dict.fromkeys(_OP.findall(text))) or ["an op"]
    nodes = list(dict.fromkeys(_NODE.findall(text)))
    named = f"op{'s' if len(ops) > 1 else ''} {', '.join(ops)}"
    return f"{named} (node {', '.join(nodes)})" if nodes else named
