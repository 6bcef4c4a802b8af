"""Wall time and peak memory per stage, for the benchmarks and the submission notebook.

    timer = StageTimer()
    with timer.stage("embed content"):
        ...
    timer.table()   # stage, seconds, peak RSS above the stage's start (MiB), GPU peak (MiB)
    timer.save(work / "timings" / "04.csv")   # what bench/scale.py reports per stage

Functions that time their steps take ``timer=None`` and use :func:`stage`, a no-op without one.

Peak RSS is sampled by a background thread (every 5 ms by default) with psutil, so it sees
short-lived spikes a before/after reading would miss.
"""

from __future__ import annotations

import subprocess
import threading
import time
from contextlib import contextmanager, nullcontext
from pathlib import Path

import pandas as pd
import psutil

MIB = 2**20


def cpu_model() -> str | None:
    """The CPU's model name where Linux says it (machines of one name still differ in speed
    between sessions: compare variants measured in one run)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def machine() -> str:
    """One line naming the hardware and torch build, for benchmark records."""
    import platform

    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return (f"{cpu_model() or platform.processor() or platform.machine()}, {psutil.cpu_count()} cores, "
            f"{psutil.virtual_memory().total / 2**30:.0f} GiB RAM, {gpu}, torch "
            f"{torch.__version__} ({torch.get_num_threads()} threads)")


def code_version(root=None) -> str:
    """The checkout's git commit, with ``+ local changes`` when tracked files differ from it,
    or ``unknown`` outside a git checkout (a Kaggle kernel): which code made a record."""
    root = str(root or Path(__file__).resolve().parents[1])

    def git(*args) -> str:
        return subprocess.run(["git", "-C", root, *args], capture_output=True, text=True,
                              check=True).stdout.strip()

    try:
        head = git("rev-parse", "--short", "HEAD")
        changed = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" + local changes" if changed else "")


class _Sampler(threading.Thread):
    def __init__(self, interval: float):
        super().__init__(daemon=True)
        self.process = psutil.Process()
        self.interval = interval
        self.start_rss = self.peak = self.process.memory_info().rss
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(self.interval):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def stop(self) -> int:
        self.done.set()
        self.join()
        return max(self.peak, self.process.memory_info().rss)


class StageTimer:
    """Collects one row per stage: seconds, RSS at start, peak RSS, GPU peak."""

    def __init__(self, interval: float = 0.005, log=None):
        self.rows: list[dict] = []
        self.interval = interval
        self.log = log

    @contextmanager
    def stage(self, name: str, **extra):
        import torch

        cuda = torch.cuda.is_available()
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        sampler = _Sampler(self.interval)
        sampler.start()
        start = time.perf_counter()
        try:
            yield
        finally:
            if cuda:
                torch.cuda.synchronize()
            seconds = time.perf_counter() - start
            peak = sampler.stop()
            row = {"stage": name, "seconds": round(seconds, 2),
                   "rss start MiB": round(sampler.start_rss / MIB),
                   "peak RSS MiB": round(peak / MIB),
                   "peak above start MiB": round((peak - sampler.start_rss) / MIB),
                   **extra}
            if cuda:
                row["GPU peak MiB"] = round(torch.cuda.max_memory_allocated() / MIB)
            self.rows.append(row)
            if self.log:
                self.log(f"{name}: {seconds:.1f}s, peak RSS {peak / MIB:,.0f} MiB "
                         f"(+{(peak - sampler.start_rss) / MIB:,.0f})")

    def table(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows).set_index("stage")

    def save(self, path) -> Path:
        """Write :meth:`table` to the CSV file ``path`` (its folder made); returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.table().to_csv(path)
        return path


def stage(timer: StageTimer | None, name: str, **extra):
    """``timer.stage(name, **extra)``, or a context that does nothing when ``timer`` is None."""
    return timer.stage(name, **extra) if timer is not None else nullcontext()
