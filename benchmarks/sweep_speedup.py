"""Time an 8-run sweep through the joblib launcher (2 workers) against the same 8 runs one
after another, in one invocation, and report the ratio (target <= 0.6 on 2 cores).

    .venv/bin/python benchmarks/sweep_speedup.py            # ~6 minutes on 2 cores
    .venv/bin/python benchmarks/sweep_speedup.py --env-steps 1000 --runs 4   # a quick look

Both sweeps are the same `rlexp -m` command (8 seeds of the default experiment, shortened
to --env-steps); only the launcher differs:

- parallel:   the default joblib launcher, `hydra.launcher.n_jobs=<workers>`, each run
              limited to 1 TF intra-op and 1 inter-op thread (the sweep default);
- sequential: Hydra's basic launcher, one run after another, each run with TensorFlow's
              default thread pools (all cores), as `rlexp train` would run it.

Every run trains in its own process in both cases. The machine's load average is printed
before, during (the mean of samples every 5 s) and after: the script itself brings it to
about 2 on 2 cores, so more means other work shared the machine; quote it with the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RLEXP = Path(sys.executable).parent / "rlexp"


class LoadSampler:
    """The machine's 1-minute load average, sampled every few seconds while a sweep runs."""

    def __init__(self, every: float = 5.0):
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(every,), daemon=True)

    def _run(self, every: float) -> None:
        while not self._stop.wait(every):
            self.samples.append(os.getloadavg()[0])

    def __enter__(self) -> LoadSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def mean(self) -> float:
        return sum(self.samples) / len(self.samples) if self.samples else os.getloadavg()[0]


def sweep(sweep_dir: Path, runs: int, env_steps: int, launcher: list[str]) -> float:
    seeds = ",".join(str(s) for s in range(runs))
    command = [
        str(RLEXP),
        "-m",
        f"seed={seeds}",
        f"train.env_steps={env_steps}",
        f"train.eval_interval={env_steps // 2}",
        "train.eval_episodes=5",
        f"train.checkpoint_interval={env_steps}",
        "train.progress=false",
        f"hydra.sweep.dir={sweep_dir}",
        *launcher,
    ]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    began = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - began
    if done.returncode != 0 or f"{runs} completed" not in done.stdout:
        sys.exit(
            f"sweep failed ({' '.join(command)}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--env-steps", type=int, default=4000)
    parser.add_argument("--out", type=Path, default=None, help="keep the sweeps here")
    args = parser.parse_args()

    out = args.out or Path(tempfile.mkdtemp(prefix="rlexp-speedup-"))
    print(f"cores: {os.cpu_count()}, load average before: {os.getloadavg()}", flush=True)
    with LoadSampler() as parallel_load:
        parallel = sweep(
            out / "parallel",
            args.runs,
            args.env_steps,
            [f"hydra.launcher.n_jobs={args.workers}"],
        )
    print(
        f"parallel   (joblib, {args.workers} workers, 1 TF thread each): {parallel:7.1f} s"
        f"  (mean 1-min load while it ran: {parallel_load.mean:.2f})",
        flush=True,
    )
    with LoadSampler() as sequential_load:
        sequential = sweep(
            out / "sequential",
            args.runs,
            args.env_steps,
            ["hydra/launcher=basic", "sweep.intra_op_threads=0", "sweep.inter_op_threads=0"],
        )
    print(
        f"sequential (basic launcher, TF default threads):     {sequential:7.1f} s"
        f"  (mean 1-min load while it ran: {sequential_load.mean:.2f})"
    )
    ratio = parallel / sequential
    load = os.getloadavg()
    print(f"ratio parallel / sequential: {ratio:.2f} (target <= 0.6)")
    print(f"load average after: {load}")
    result = {
        "runs": args.runs,
        "workers": args.workers,
        "env_steps": args.env_steps,
        "parallel_s": round(parallel, 1),
        "sequential_s": round(sequential, 1),
        "ratio": round(ratio, 3),
        "mean_load_parallel": round(parallel_load.mean, 2),
        "mean_load_sequential": round(sequential_load.mean, 2),
        "load_average_after": load,
        "cores": os.cpu_count(),
    }
    (out / "speedup.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"sweeps and speedup.json in {out}")


if __name__ == "__main__":
    main()
