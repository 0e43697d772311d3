"""Make the README's two pictures from a real sweep (docs/img/*.png).

    .venv/bin/python docs/make_pictures.py [--sweep DIR]

Runs a small sweep of the default experiment (two learning rates x two seeds; skipped with
--sweep DIR to reuse one), then writes
  docs/img/report_curves.png    `rlexp report`'s learning curves of that sweep;
  docs/img/tensorboard_hparams.png  TensorBoard's HParams table of it, served on
                                127.0.0.1 and shot with headless Chromium
                                (apt-get install chromium).
Minutes on a small machine; not part of the test suite.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMG = ROOT / "docs" / "img"
BIN = Path(sys.executable).parent
SWEEP = ["-m", "agent.learning_rate=1e-3,2.3e-3", "repeat=2", "train.env_steps=12000"]


def run_sweep(out: Path) -> Path:
    """The sweep's directory (a fresh one under `out`)."""
    sweep_dir = out / "sweep"
    command = [str(BIN / "rlexp"), *SWEEP, f"hydra.sweep.dir={sweep_dir}"]
    print("$", " ".join(command), flush=True)
    subprocess.run(command, check=True, cwd=ROOT)
    return sweep_dir


def report_picture(sweep_dir: Path, out: Path) -> None:
    report_dir = out / "report"
    command = [str(BIN / "rlexp"), "report", str(sweep_dir), f"out={report_dir}"]
    subprocess.run(command, check=True, cwd=ROOT)
    shutil.copy(report_dir / "learning_curves.png", IMG / "report_curves.png")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def hparams_picture(sweep_dir: Path) -> None:
    """TensorBoard on 127.0.0.1, its HParams tab shot by headless Chromium."""
    port = free_port()
    server = subprocess.Popen(
        [str(BIN / "tensorboard"), "--logdir", str(sweep_dir), "--host", "127.0.0.1",
         "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for(base)
        browser = shutil.which("chromium") or shutil.which("chromium-browser")
        if browser is None:
            raise SystemExit("chromium not found: apt-get install chromium")
        subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             "--window-size=1900,560", "--virtual-time-budget=20000",
             f"--screenshot={IMG / 'tensorboard_hparams.png'}", f"{base}/#hparams"],
            check=True,
            timeout=180,
        )
    finally:
        server.terminate()
        server.wait(timeout=30)


def _wait_for(base: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{base}/data/runs", timeout=5).read()
            return
        except OSError:
            time.sleep(1)
    raise SystemExit(f"TensorBoard did not answer at {base}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweep", type=Path, help="reuse this sweep directory")
    parser.add_argument("--out", type=Path, default=ROOT / "outputs" / "readme_pictures")
    args = parser.parse_args()
    IMG.mkdir(parents=True, exist_ok=True)
    sweep_dir = args.sweep or run_sweep(args.out)
    report_picture(sweep_dir, args.out)
    hparams_picture(sweep_dir)
    print(f"wrote {IMG / 'report_curves.png'} and {IMG / 'tensorboard_hparams.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
