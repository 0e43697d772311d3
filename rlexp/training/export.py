"""The policies a run exports as SavedModels: the final one and the best-scoring one.

The best policy's weights are copied (in memory, and into every checkpoint) whenever an
evaluation beats the best so far; both policies are written once, at the end of the run,
through one `PolicySaver`: policy/ as a SavedModel, and policy_best/ as a copy of its graph
with the best weights written over its variables (`PolicySaver.save_checkpoint`, which
TF-Agents provides for exactly that), so a run serialises the policy's graph once.
`warm_up()` saves once to a scratch folder while training runs: that traces the policy's
functions, most of an export's time, so the export at the end only writes.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from rlexp import rundir


class BestPolicy:
    """Copies of the eval policy's variables as they were at its best evaluation."""

    def __init__(self, policy: Any, train_step: Any):
        import tensorflow as tf

        self.policy, self.train_step = policy, train_step
        self._saver = None
        self.variables = [
            tf.Variable(v, trainable=False, name=f"best/{v.name.split(':')[0]}")
            for v in policy.variables()
        ]

    def keep(self) -> None:
        """Remember the policy's current weights as the best."""
        for best, current in zip(self.variables, self.policy.variables(), strict=True):
            best.assign(current)

    def warm_up(self) -> None:
        """Trace what the export saves, by saving to a scratch folder (it only reads the
        variables, so it can run beside training)."""
        with tempfile.TemporaryDirectory(prefix="rlexp_export_") as scratch:
            self._policy_saver().save(scratch)

    def export(self, run_dir: Path, best_train_step: int) -> None:
        """Write policy/ (the current weights) and policy_best/ (the best weights, and the
        train step of their evaluation); an export that fails (a full disk) removes the
        folders it created, half written."""
        final_dir = Path(run_dir) / rundir.POLICY_DIR
        best_dir = Path(run_dir) / rundir.BEST_POLICY_DIR
        new = [d for d in (final_dir, best_dir) if not d.exists()]
        try:
            self._export(final_dir, best_dir, best_train_step)
        except BaseException:
            for folder in new:
                shutil.rmtree(folder, ignore_errors=True)
            raise

    def _policy_saver(self) -> Any:
        from tf_agents.policies import policy_saver

        if self._saver is None:
            self._saver = policy_saver.PolicySaver(
                self.policy, batch_size=None, train_step=self.train_step
            )
        return self._saver

    def _export(self, final_dir: Path, best_dir: Path, best_train_step: int) -> None:
        saver = self._policy_saver()
        saver.save(str(final_dir))
        shutil.copytree(final_dir, best_dir, dirs_exist_ok=True)
        live = [*self.policy.variables(), self.train_step]
        current = [v.numpy() for v in live]
        for variable, best in zip(live, [*self.variables, best_train_step], strict=True):
            variable.assign(best)
        try:
            saver.save_checkpoint(str(best_dir))
        finally:
            for variable, value in zip(live, current, strict=True):
                variable.assign(value)
