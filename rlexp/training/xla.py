"""XLA in rlexp: its compile flags, and what it refused to compile in a line the user can
act on instead of TF's graph dump."""

from __future__ import annotations

import os
import re
import sys

# XLA's while-loop simplifier and loop-invariant code motion take ~0.3 s of the ~2.4 s it
# spends compiling the default fused loop, and made it neither faster nor different
# (benchmarks/RESULTS.md, "XLA's compile").
SKIPPED_PASSES = "simplify-while-loops,while-loop-invariant-code-motion"

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


# TF_XLA_FLAGS's persistent compile cache: on this CPU build of TensorFlow 2.15 saving to it
# fails every XLA compile (`TargetRegistry::lookupTarget failed: ... triple "unknown"`,
# tensorflow#57649); reading one (`--tf_xla_persistent_cache_read_only=true`) works.
_SAVED_CACHE = re.compile(r"--tf_xla_persistent_cache_directory=(\S+)")
_READ_ONLY = re.compile(r"--tf_xla_persistent_cache_read_only(?:=(?:true|1))?(?:\s|$)")


def persistent_cache_problem() -> str | None:
    """Why no XLA compile can succeed in this process (TF_XLA_FLAGS asks each to be saved
    to a persistent cache), else None."""
    flags = os.environ.get("TF_XLA_FLAGS", "")
    saved = _SAVED_CACHE.search(flags)
    if not saved or _READ_ONLY.search(flags):
        return None
    return (
        f"TF_XLA_FLAGS sets --tf_xla_persistent_cache_directory={saved[1]}, and this CPU "
        f"build of TensorFlow fails every XLA compile it saves there (TargetRegistry::"
        f"lookupTarget: no target for triple \"unknown\"); a run of this config compiles "
        f"with XLA (its fused loop, or its evaluation on a native TF env). Remove that flag "
        f"from TF_XLA_FLAGS"
    )


def skip_slow_passes() -> None:
    """Have XLA skip `SKIPPED_PASSES`: call before the process's first XLA compile (XLA
    reads XLA_FLAGS once). A user's own `--xla_disable_hlo_passes` in XLA_FLAGS is kept."""
    flags = os.environ.get("XLA_FLAGS", "")
    if "--xla_disable_hlo_passes" not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} --xla_disable_hlo_passes={SKIPPED_PASSES}".strip()


def spend_the_first_compile_notice() -> None:
    """A process's first XLA compile logs "Compiled cluster using XLA!" through absl, which
    ignores TF_CPP_MIN_LOG_LEVEL (and first warns that its log is not initialised): compile a
    trivial function once with stderr pointed at /dev/null, so the notice is spent there.

    Call from the main thread before any other thread runs TensorFlow. Skipped when the
    user asked for TensorFlow's info logs (TF_CPP_MIN_LOG_LEVEL=0)."""
    import tensorflow as tf

    if os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0") == "0":
        return
    sys.stderr.flush()
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    try:
        tf.function(lambda x: x + 1, jit_compile=True, autograph=False)(tf.constant(0))
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)
