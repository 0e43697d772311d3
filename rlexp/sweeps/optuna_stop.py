"""An Optuna study that a stop signal ends: it asks for no trial once the sweep's stop mark
exists, and records none it did not start as failed.

The Optuna sweeper's loop asks its study for a batch of trials, launches them, and tells
the study their values, until it has run `n_trials`; nothing in it looks at a signal.
`install()` (called by the sweep's start callback, before Hydra makes the sweeper) wraps
two of its methods:

- its launcher launches no batch once the mark exists, and raises `SweepStopped` instead;
  so does a job a sequential launcher is about to start (`rlexp.sweeps.job`);
- on `SweepStopped` the sweep ends normally (Hydra's end callback marks it `interrupted`),
  and the trials the study asked for and never ran go back to its queue (Optuna's
  `WAITING`, with their sampled parameters): the continued study (the same command with
  `hydra.sweep.dir=<dir>`) runs them first, and its sampler never sees them as failures.

A trial whose run was interrupted has no value: Optuna records it as failed.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from rlexp.sweeps import signals


class _StopAwareLauncher:
    """The sweeper's launcher, launching no batch of a stopped sweep."""

    def __init__(self, launcher: Any, sweep_dir: Path) -> None:
        self._launcher, self._sweep_dir = launcher, sweep_dir

    def launch(self, job_overrides: Any, initial_job_idx: int) -> Any:
        if signals.stop_requested(self._sweep_dir):
            raise signals.SweepStopped("the Optuna study launches no more trials")
        return self._launcher.launch(job_overrides, initial_job_idx=initial_job_idx)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._launcher, name)


def install() -> None:
    """Make the Optuna sweeper stoppable (once per process)."""
    from hydra_plugins.hydra_optuna_sweeper._impl import OptunaSweeperImpl

    if getattr(OptunaSweeperImpl, "_rlexp_stoppable", False):
        return
    setup, sweep = OptunaSweeperImpl.setup, OptunaSweeperImpl.sweep

    @functools.wraps(setup)
    def stoppable_setup(self: Any, **kwargs: Any) -> None:
        setup(self, **kwargs)
        self.launcher = _StopAwareLauncher(self.launcher, Path(self.sweep_dir))

    @functools.wraps(sweep)
    def stoppable_sweep(self: Any, arguments: list[str]) -> None:
        try:
            return sweep(self, arguments)
        except signals.SweepStopped:
            requeue_unfinished(self.study_name, self.storage)
        except ValueError:
            if not signals.stop_requested(Path(self.sweep_dir)):
                raise
            # Stopped in its last batch, with no trial completed: Optuna has no best trial
            # ("Record does not exist."); the study is to be continued, not concluded.
        return None

    OptunaSweeperImpl.setup = stoppable_setup
    OptunaSweeperImpl.sweep = stoppable_sweep
    OptunaSweeperImpl._rlexp_stoppable = True


def requeue_unfinished(study_name: str | None, storage: Any) -> list[int]:
    """Put the study's trials that are asked for and not told (RUNNING: launched by no one,
    since the sweep's stop) back in its queue; their numbers. An in-memory study
    (`storage` None) ends with the process: nothing to keep."""
    if storage is None:
        return []
    import optuna
    from optuna.trial import TrialState

    storage = optuna.storages.get_storage(storage)
    study_id = storage.get_study_id_from_name(study_name)
    numbers = [
        t.number
        for t in storage.get_all_trials(study_id, deepcopy=False)
        if t.state == TrialState.RUNNING
    ]
    for number in numbers:
        trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, number)
        storage.set_trial_state(trial_id, TrialState.WAITING)
    return numbers
