"""The Trainer set-up both stages share: arguments, quiet progress, and the loss history.

:func:`train` runs sentence-transformers' trainer for the bi-encoder
(``SentenceTransformerTrainer``) or the cross-encoder (``CrossEncoderTrainer``) with the
suite's settings: the config's batch size, learning rate, warm-up, seed and precision
(:func:`utils.models.trainer_precision`), no checkpoints or reports (the callers save the
model themselves), one progress bar, and the loss logged about ``log_points`` times.

With ``processes`` > 1 it trains data-parallel, one process per GPU (Kaggle's 2×T4): the
job (model, data, loss, arguments) is written to the output folder and ``torchrun`` runs
this module on it in fresh processes; the Trainer in each sets up the process group from
torchrun's variables, each process takes its own batches of ``batch_size`` (so one step
sees ``processes`` × ``batch_size`` rows), process 0 writes the trained weights and the loss
history, and the caller's model is loaded with them. Fresh processes rather than a fork
(``accelerate.notebook_launcher``): a notebook has used its GPU before training (mining
hard negatives, scoring), and CUDA cannot be used again in a forked child. On a CPU the
processes share its cores over gloo, which is how the tests run it.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import torch

from . import logs
from .models import trainer_precision

log = logging.getLogger(__name__)
HISTORY_FILE = "history.csv"
"""Beside each trained model: its loss history (read back when the model is reused)."""
HISTORY_COLUMNS = ["step", "epoch", "loss", "learning_rate"]


JOB_FILE, RESULT_FILE = "ddp-job.pt", "ddp-result.pt"
"""In ``out_dir/trainer`` during a multi-process run: what the processes train, what process 0 returns."""


def processes(wanted: int | None = None) -> int:
    """How many training processes: ``wanted``, or None for one per visible GPU (1 on a CPU)."""
    if wanted is None:
        return max(1, torch.cuda.device_count())
    if wanted < 1:
        raise ValueError(f"the number of training processes must be 1 or more, got {wanted}")
    return int(wanted)


def train(trainer_class, arguments_class, model, dataset, loss, config, epochs: float, out_dir,
          log_points: int = 10, processes: int = 1, **arguments) -> pd.DataFrame:
    """Train ``model`` on ``dataset`` (a ``datasets.Dataset``) with ``loss``; ``config`` has
    ``batch_size``, ``learning_rate``, ``warmup_ratio``, ``seed`` and ``precision``;
    ``arguments``: more training arguments (a batch sampler). ``processes`` > 1: data-parallel
    in that many processes (module doc). Returns the loss history."""
    if processes > 1:
        return _launch(processes, dict(
            trainer_class=trainer_class, arguments_class=arguments_class, model=model,
            dataset=dataset, loss=loss, config=config, epochs=epochs, out_dir=out_dir,
            log_points=log_points, **arguments))
    steps = max(1, len(dataset) // config.batch_size)
    settings = trainer_precision(config.precision)
    if not torch.cuda.is_available() and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        settings["use_cpu"] = True  # else the Trainer on a CPU ignores torchrun's process group
    args = arguments_class(
        output_dir=str(Path(out_dir) / "trainer"), num_train_epochs=epochs,
        per_device_train_batch_size=config.batch_size, learning_rate=config.learning_rate,
        warmup_steps=config.warmup_ratio, seed=config.seed, data_seed=config.seed,
        dataloader_pin_memory=torch.cuda.is_available(),
        logging_steps=max(1, steps // log_points), save_strategy="no", report_to="none",
        disable_tqdm=True, **settings, **arguments)
    with logs.no_progress_bars():  # the model card's widget examples
        trainer = trainer_class(model=model, args=args, train_dataset=dataset, loss=loss)
    output = logs.quiet_trainer(trainer).train()
    log.info("trained %d steps of %d rows in %.0f s (%.1f rows/s)", output.global_step,
             config.batch_size, output.metrics["train_runtime"],
             output.metrics["train_samples_per_second"])  # the throughput bench/scale.py's estimates use
    history = pd.DataFrame([h for h in trainer.state.log_history if "loss" in h])
    return history.reindex(columns=HISTORY_COLUMNS)


def _launch(processes: int, job: dict) -> pd.DataFrame:
    """Run :func:`train` on ``job`` in ``processes`` fresh processes (torchrun), then load the
    weights process 0 saved into ``job["model"]``; returns process 0's loss history."""
    folder = Path(job["out_dir"]) / "trainer"
    folder.mkdir(parents=True, exist_ok=True)
    result = folder / RESULT_FILE
    result.unlink(missing_ok=True)
    torch.save(job, folder / JOB_FILE)
    package_root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={processes}",
               "-m", "utils.trainer", str(folder / JOB_FILE)]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    (folder / JOB_FILE).unlink(missing_ok=True)
    if done.returncode != 0 or not result.is_file():
        tail = _failure(done.stdout + done.stderr)
        raise RuntimeError(f"training in {processes} processes failed (exit {done.returncode}):\n{tail}\n"
                           "Train in one process (PROCESSES = 1) to see the error where it happens.")
    trained = torch.load(result, map_location="cpu", weights_only=False)
    result.unlink()
    job["model"].load_state_dict(trained["state"])
    return trained["history"]


def _failure(output: str) -> str:
    """The traceback of the process that failed first, from torchrun's report (the process
    records it: ``_worker`` runs under ``record``), else the output's last lines."""
    lines = output.strip().splitlines()
    starts = [i for i, line in enumerate(lines) if "traceback : Traceback" in line]
    if not starts:
        return "\n".join(lines[-25:])
    report = lines[starts[-1]:]  # the root cause comes last
    end = next((i for i, line in enumerate(report) if line.startswith("====")), len(report))
    return "\n".join(report[:end]).strip()


def _worker(job_file: str) -> None:
    """One of :func:`_launch`'s processes: train the job; process 0 saves what it returns."""
    job = torch.load(job_file, map_location="cpu", weights_only=False)
    logs.setup()
    history = train(**job)
    if int(os.environ.get("RANK", "0")) == 0:
        state = {name: tensor.cpu() for name, tensor in job["model"].state_dict().items()}
        torch.save({"state": state, "history": history}, Path(job_file).with_name(RESULT_FILE))


if __name__ == "__main__":
    from torch.distributed.elastic.multiprocessing.errors import record

    record(_worker)(sys.argv[1])  # a failed process's traceback reaches the launcher's report
