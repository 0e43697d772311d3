"""Evaluate an exported SavedModel policy: `rlexp eval <run dir | policy dir>`.

Needs only TensorFlow and the env's builder: the policy is loaded with
`tf.saved_model.load`, never with the agent or trainer code, and no pickle is read.
"""

from __future__ import annotations

import os
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig, OmegaConf

from rlexp import registry, rundir

CONFIG_FILE = Path(rundir.HYDRA_DIR) / rundir.CONFIG_FILE
POLICY_DIRS = {"best": rundir.BEST_POLICY_DIR, "final": rundir.POLICY_DIR}
GIF_MARK = b"rlexp eval"  # the GIF comment by which eval knows a video file as its own


class PolicyLoadError(ValueError):
    """The path is not a run or policy directory, or its policy cannot be loaded."""


@dataclass
class EvalReport:
    returns: list[float]
    policy_dir: Path  # resolved: the folder evaluated, whatever `.` or symlink named it
    video: Path | None = None

    @property
    def mean(self) -> float:
        return float(np.mean(self.returns))

    @property
    def std(self) -> float:
        return float(np.std(self.returns))


def locate(path: Path, which: str | None = None) -> tuple[Path, Path]:
    """(run dir, policy dir) for a policy dir, or for a run dir and `which` policy of it
    (best, the default: policy_best/, else policy/ for runs that have no best policy, with
    a note; final: policy/). A policy dir given as `.` or a symlink is resolved to find its
    run; a `which` naming the other policy is refused (it would be ignored)."""
    path = Path(path)
    if not path.exists():
        raise PolicyLoadError(f"{path}: no such directory")
    real = path.resolve()
    if (real / "saved_model.pb").is_file() and (real.parent / CONFIG_FILE).is_file():
        if which is not None and real.name != POLICY_DIRS[which]:
            raise PolicyLoadError(
                f"policy={which} asks for the run's {POLICY_DIRS[which]}/, but {path} is "
                f"{real.name}/; policy= chooses the policy of a run directory: give the "
                f"policy folder alone (rlexp eval {shlex.quote(str(path))}), or the run "
                f"directory with policy={which} "
                f"(rlexp eval {shlex.quote(str(real.parent))} policy={which})"
            )
        return real.parent, path
    if (real / "saved_model.pb").is_file():  # a policy folder moved out of its run
        raise PolicyLoadError(
            f"{path} is a policy folder without its run: rlexp eval builds the env from the "
            f"run's {CONFIG_FILE}, and {real.parent} has none; evaluate it in its run "
            f"directory (rlexp eval <run dir>/{real.name}), or copy the run's "
            f"{rundir.HYDRA_DIR}/ folder into {real.parent}"
        )
    if not (path / CONFIG_FILE).is_file():
        raise PolicyLoadError(
            f"{path} is not a run directory (with .hydra/config.yaml and policy/) "
            f"nor the policy/ directory of one{rundir.sweep_hint(path, 'eval')}"
        )
    which = which or "best"
    wanted, final = path / POLICY_DIRS[which], path / rundir.POLICY_DIR
    if (wanted / "saved_model.pb").is_file():
        return path, wanted
    if which == "best" and (final / "saved_model.pb").is_file():
        return path, _fall_back_to_final(path)
    raise PolicyLoadError(_missing_export(path, which))


def _fall_back_to_final(run_dir: Path) -> Path:
    """policy/ in place of a missing policy_best/, for a run that never evaluated (one that
    did has a best policy: its folder was deleted or damaged, so it is refused, as is one
    whose metrics.json cannot say)."""
    metrics = rundir.read_metrics(run_dir)
    final = f"rlexp eval {shlex.quote(str(run_dir))} policy=final"
    if not metrics:  # missing or unreadable: no record either way
        raise PolicyLoadError(
            f"{run_dir} has no {rundir.BEST_POLICY_DIR}/saved_model.pb, and its "
            f"{rundir.METRICS_FILE} is missing or damaged, so whether the run evaluated (and "
            f"lost its best policy) is unknown; evaluate the policy at the end with: {final}"
        )
    if metrics.get("evaluations") or metrics.get("best_eval_env_steps") is not None:
        raise PolicyLoadError(
            f"{run_dir} has evaluations in {rundir.METRICS_FILE} but no "
            f"{rundir.BEST_POLICY_DIR}/saved_model.pb (deleted or damaged); evaluate the "
            f"policy at the end with: {final}"
        )
    print(
        f"rlexp eval: {run_dir} has no {rundir.BEST_POLICY_DIR}/ (its {rundir.METRICS_FILE} "
        f"records no evaluation); evaluating {rundir.POLICY_DIR}/, the policy at the end",
        file=sys.stderr,
    )
    return run_dir / rundir.POLICY_DIR


def _missing_export(run_dir: Path, which: str) -> str:
    """Why a run directory has no `which` policy to evaluate: a process still trains it (it
    holds the run's lock), else by its metrics.json status."""
    name = POLICY_DIRS[which]
    holder = rundir.lock_holder(run_dir)
    if holder is not None:
        return (
            f"{run_dir} is still training (pid {holder}): its policies are exported when the "
            f"run ends; wait for it to end, then evaluate it"
        )
    status = rundir.read_metrics(run_dir).get("status")
    if status != "completed":
        finished = f"has not finished (status: {status})" if status else "may not have finished"
        return (
            f"{run_dir} is a run directory without an exported policy ({name}/saved_model.pb); "
            f"the run {finished}: `rlexp resume {shlex.quote(str(run_dir))}` completes an "
            f"interrupted run"
        )
    best = run_dir / rundir.BEST_POLICY_DIR / "saved_model.pb"
    hint = (
        f"; {rundir.BEST_POLICY_DIR}/ is there: rlexp eval {shlex.quote(str(run_dir))}"
        if which == "final" and best.is_file()
        else ""
    )
    return (
        f"{run_dir} is a completed run whose {name}/saved_model.pb is missing (its export "
        f"was deleted or moved after the run){hint}"
    )


def build_env(run_dir: Path, seed: int, video: bool = False):
    """The run's env, built from its saved config by the registered builder.

    The saved files are checked (`rlexp.saved_run`) and the env's config validated before
    any plugin they name is imported, except what needs the plugin's own schema; with
    `video`, an env whose option draws no frames is refused before it is built."""
    from rlexp.bounds import bound_problems
    from rlexp.context import BuildContext
    from rlexp.saved_run import SavedRunError, announce_plugins, read_saved_run

    try:
        run = read_saved_run(run_dir)
    except SavedRunError as exc:
        raise PolicyLoadError(str(exc)) from None
    env_node = run.config.get("env")
    if not isinstance(env_node, DictConfig) or not isinstance(env_node.get("name"), str):
        raise PolicyLoadError(f"{run_dir / CONFIG_FILE}: no env.name; it is damaged or edited")
    registry.load_builtins()
    wrappers = env_node.get("wrappers") or []
    needed = [("env", env_node.name)] + [
        ("wrapper", w.get("name")) for w in wrappers if isinstance(w, DictConfig)
    ]
    if any(name not in registry.names(group) for group, name in needed):
        announce_plugins(run, "eval")  # only when the env needs them
        registry.load_plugins(run.plugins)
    component = registry.get("env", env_node.name)
    try:
        typed = OmegaConf.merge(OmegaConf.structured(component.schema), env_node)
        problems = bound_problems(typed, "env")
        env_cfg = OmegaConf.to_object(typed)
        own_rules = getattr(env_cfg, "problems", None)
        problems += [f"env.{p}" for p in own_rules()] if own_rules else []
    except Exception as exc:  # noqa: BLE001 (OmegaConf's validation errors)
        problems = [" ".join(str(exc).split())]
    if problems:
        raise PolicyLoadError(
            f"{run_dir / CONFIG_FILE}: the env's config is invalid (damaged or edited):\n"
            + "\n".join(f"  - {p}" for p in problems)
        )
    if video and not env_cfg.can_render:
        raise PolicyLoadError(
            f"env={env_node.name} cannot render frames, so video=true has nothing to record; "
            f"evaluate without video=true"
        )
    return component.builder(env_cfg, BuildContext(seed=seed))


def evaluate(
    path: Path, episodes: int = 10, seed: int = 0, video: bool = False, which: str | None = None
) -> EvalReport:
    """Run `episodes` episodes of the exported greedy policy; optionally a GIF of the first."""
    from rlexp.tracking.quiet import quiet_tensorflow

    run_dir, policy_dir = locate(path, which)  # before TensorFlow: a wrong path fails fast
    quiet_tensorflow()
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # render without a display
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    import tensorflow as tf
    import tensorflow_probability  # noqa: F401  (registers the policy's distribution TypeSpecs)

    if video:
        _check_writable(run_dir)
    tf.random.set_seed(seed)
    env = build_env(run_dir, seed, video)  # checks the saved config before the policy is loaded
    policy = _load(policy_dir, run_dir)
    _check_accepts(policy, env, policy_dir, run_dir)
    frames: list[np.ndarray] = []
    returns = []

    @tf.function(autograph=False)
    def act_and_step(time_step, state):  # compiled once: a step costs ops, not Python
        step = policy.action(time_step, state)
        return env.step(step.action), step.state

    @tf.function(autograph=False)
    def play_episode():  # a whole episode in one call (no frames to render)
        def body(time_step, state, total):
            time_step, state = act_and_step(time_step, state)
            return time_step, state, total + tf.cast(time_step.reward[0], tf.float64)

        start = (
            env.reset(),
            policy.get_initial_state(env.batch_size),
            tf.constant(0.0, tf.float64),
        )
        unfinished = lambda time_step, *_: tf.logical_not(time_step.is_last()[0])  # noqa: E731
        return tf.while_loop(unfinished, body, start)[2]

    for episode in range(episodes):
        if not (video and episode == 0):
            returns.append(float(play_episode()))
            continue
        time_step = env.reset()
        state = policy.get_initial_state(env.batch_size)
        total = 0.0
        while True:
            frames.append(_render(env))
            if bool(time_step.is_last()[0]):
                break
            time_step, state = act_and_step(time_step, state)
            total += float(time_step.reward[0])
        returns.append(total)
    real = policy_dir.resolve()  # policy_best or policy, not a symlink or `.`
    gif = _write_gif(frames, video_path(run_dir, real.name, seed)) if video else None
    return EvalReport(returns, real, gif)


def video_path(run_dir: Path, policy: str, seed: int) -> Path:
    """Where video=true's GIF of `policy` (its folder's name) goes: videos/eval_<policy>_
    seed<seed>.gif, replacing only a GIF that `rlexp eval` wrote; beside a file of the
    user's (or a symbolic link, which could point anywhere), the first free `_<k>` name."""
    stem = rundir.EVAL_VIDEO.format(policy=policy, seed=seed)
    folder = run_dir / rundir.VIDEO_DIR
    path, k = folder / f"{stem}.gif", 1
    while path.is_symlink() or (path.exists() and not _written_by_eval(path)):
        k += 1
        path = folder / f"{stem}_{k}.gif"
    return path


def _written_by_eval(path: Path) -> bool:
    from PIL import Image

    try:
        with Image.open(path) as image:
            return image.info.get("comment") == GIF_MARK
    except OSError:  # not an image (PIL's UnidentifiedImageError), a folder
        return False


def _check_writable(run_dir: Path) -> None:
    """Before any episode: the GIF of `video=true` goes into the run directory."""
    unwritable = rundir.unwritable_reason(str(run_dir))
    if unwritable:
        raise PolicyLoadError(
            f"cannot write the video into {run_dir} ({unwritable}); copy the run directory "
            f"somewhere writable, or evaluate without video=true"
        )


def _load(policy_dir: Path, run_dir: Path) -> Any:
    import tensorflow as tf

    try:
        return tf.saved_model.load(str(policy_dir))
    except Exception as exc:  # TF raises many types for a broken SavedModel
        raise PolicyLoadError(_damaged_text(policy_dir, run_dir, exc)) from exc


def _damaged_text(policy_dir: Path, run_dir: Path, exc: Exception) -> str:
    """Why a SavedModel could not be loaded, and the run's other policy to evaluate.
    TensorFlow's advice (a `tags=` argument, for an empty or cut-off saved_model.pb) is
    left out: rlexp eval has no such option."""
    lines = str(exc).strip().splitlines()
    detail = f" ({lines[0]})" if lines and "tags=" not in str(exc) else ""
    name = policy_dir.resolve().name
    others = [
        which
        for which, folder in POLICY_DIRS.items()
        if folder != name and (run_dir / folder / "saved_model.pb").is_file()
    ]
    instead = (
        f"; evaluate the run's other policy instead: rlexp eval {shlex.quote(str(run_dir))} "
        f"policy={others[0]}"
        if others and name in POLICY_DIRS.values()
        else ""
    )
    return f"the SavedModel in {policy_dir} is damaged or unreadable{detail}{instead}"


def _check_accepts(policy: Any, env: Any, policy_dir: Path, run_dir: Path) -> None:
    """Refuse, before any episode, a SavedModel that is not a TF-Agents policy, and a policy
    whose specs do not match the env the run's config builds (an edited config, a plugin env
    whose specs changed): TensorFlow's own error is a page of function signatures, and an
    action spec with other bounds runs without one, its actions meaning something else."""
    from tf_agents.specs import tensor_spec

    if not {"action", "get_initial_state"} <= set(getattr(policy, "signatures", None) or {}):
        raise PolicyLoadError(
            f"{policy_dir} is not a TF-Agents policy SavedModel (no action/get_initial_state "
            f"signature); rlexp eval takes the policy/ or policy_best/ folder of a run"
        )
    name = OmegaConf.load(run_dir / CONFIG_FILE).env.name
    acts, takes = _action_text(_saved_action_spec(policy_dir)), _action_text(env.action_spec())
    differences = (
        [] if acts == takes else [f"action: the policy gives {acts}, env={name} takes {takes}"]
    )
    given = tensor_spec.add_outer_dims_nest(env.time_step_spec(), (env.batch_size,))
    try:  # traces the call the episodes make, without running it
        policy.action.get_concrete_function(given, policy.get_initial_state(env.batch_size))
    except (ValueError, TypeError) as exc:
        taken = policy.action.concrete_functions[0].structured_input_signature[0][0]
        found = _differences(taken, env.time_step_spec(), f"env={name}")
        differences = (found or [str(exc).splitlines()[0]]) + differences
    if differences:
        raise PolicyLoadError(
            f"the policy in {policy_dir} does not fit env={name} (its specs differ from the "
            f"ones it was trained on): " + "; ".join(differences)
        )


def _saved_action_spec(policy_dir: Path) -> Any:
    """The action spec the policy was trained with, from the policy_specs.pbtxt that TF-Agents'
    PolicySaver writes beside the SavedModel (the SavedModel keeps no bounds)."""
    from tf_agents.policies import policy_saver
    from tf_agents.specs import tensor_spec

    path = policy_dir / policy_saver.POLICY_SPECS_PBTXT
    try:
        specs = policy_saver.specs_from_collect_data_spec(tensor_spec.from_pbtxt_file(str(path)))
    except Exception as exc:  # noqa: BLE001 (missing: OSError; damaged: protobuf's errors)
        why = " ".join(str(exc).split()) or type(exc).__name__
        raise PolicyLoadError(
            f"cannot read the policy's specs {path} ({why}); PolicySaver writes it with the "
            f"SavedModel, and the run's other policy folder holds the same specs"
        ) from None
    return specs["action_spec"]


def _action_text(specs: Any) -> str:
    """`int32 () in [0, 4]` for each spec in a nest: its dtype, shape and bounds."""
    import tensorflow as tf

    texts = []
    for spec in tf.nest.flatten(specs):
        text = f"{tf.as_dtype(spec.dtype).name} {tuple(spec.shape)}"
        if hasattr(spec, "minimum"):
            text += f" in [{_bound_text(spec.minimum)}, {_bound_text(spec.maximum)}]"
        texts.append(text)
    return ", ".join(texts) or "nothing"


def _bound_text(bound: Any) -> str:
    """A bound as one number when all its elements are equal, else as a list."""
    values = np.unique(np.asarray(bound))
    return str(values[0].item()) if values.size == 1 else str(np.asarray(bound).tolist())


def _differences(taken: Any, given: Any, env: str) -> list[str]:
    """Each field of the time step whose specs differ: what the policy takes (its first
    dimension is the batch), what the env gives."""
    found = []
    for field in given._fields:
        wanted = _specs_text(getattr(taken, field, None), 1)
        got = _specs_text(getattr(given, field), 0)
        if wanted != got:
            found.append(f"{field}: the policy takes {wanted}, {env} gives {got}")
    return found


def _specs_text(specs: Any, outer_dims: int) -> str:
    """`float32 (4,)` for each spec in a nest, without its first `outer_dims` dimensions."""
    import tensorflow as tf

    flat = [s for s in tf.nest.flatten(specs) if s is not None]
    return ", ".join(f"{s.dtype.name} {tuple(s.shape[outer_dims:])}" for s in flat) or "nothing"


def _render(env) -> np.ndarray:
    from rlexp.envs.rendering import RenderError, render_frame

    try:
        return render_frame(env)
    except RenderError as exc:
        raise PolicyLoadError(f"this env cannot render frames for video=true ({exc})") from exc


def _write_gif(frames: list[np.ndarray], path: Path) -> Path:
    from PIL import Image

    images = [Image.fromarray(frame) for frame in frames]
    temp = path.with_name(f".{path.name}.tmp")  # renamed into place: never a partial GIF
    try:
        path.parent.mkdir(exist_ok=True)
        images[0].save(
            temp,
            format="GIF",
            save_all=True,
            append_images=images[1:],
            duration=20,
            loop=0,
            comment=GIF_MARK,
        )
        temp.replace(path)
    except OSError as exc:  # a run directory on a read-only mount, a full disk
        temp.unlink(missing_ok=True)
        raise PolicyLoadError(
            f"cannot write the video {path} ({exc.strerror or exc}); copy the run "
            f"directory somewhere writable, or evaluate without video=true"
        ) from exc
    return path
