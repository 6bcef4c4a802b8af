"""The Trainer set-up both stages share: arguments, quiet progress, and the loss history.

:func:`train` runs sentence-transformers' trainer for the bi-encoder
(``SentenceTransformerTrainer``) or the cross-encoder (``CrossEncoderTrainer``) with the
suite's settings: the config's batch size, learning rate, warm-up, seed and precision
(:func:`utils.models.trainer_precision`), no checkpoints or reports (the callers save the
model themselves), one progress bar, and the loss logged about ``log_points`` times.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch

from . import logs
from .models import trainer_precision

HISTORY_FILE = "history.csv"
"""Beside each trained model: its loss history (read back when the model is reused)."""
HISTORY_COLUMNS = ["step", "epoch", "loss", "learning_rate"]


def train(trainer_class, arguments_class, model, dataset, loss, config, epochs: float, out_dir,
          log_points: int = 10, **arguments) -> pd.DataFrame:
    """Train ``model`` on ``dataset`` (a ``datasets.Dataset``) with ``loss``; ``config`` has
    ``batch_size``, ``learning_rate``, ``warmup_ratio``, ``seed`` and ``precision``;
    ``arguments``: more training arguments (a batch sampler). Returns the loss history."""
    steps = max(1, len(dataset) // config.batch_size)
    args = arguments_class(
        output_dir=str(Path(out_dir) / "trainer"), num_train_epochs=epochs,
        per_device_train_batch_size=config.batch_size, learning_rate=config.learning_rate,
        warmup_steps=config.warmup_ratio, seed=config.seed, data_seed=config.seed,
        dataloader_pin_memory=torch.cuda.is_available(),
        logging_steps=max(1, steps // log_points), save_strategy="no", report_to="none",
        disable_tqdm=True, **trainer_precision(config.precision), **arguments)
    with logs.no_progress_bars():  # the model card's widget examples
        trainer = trainer_class(model=model, args=args, train_dataset=dataset, loss=loss)
    logs.quiet_trainer(trainer).train()
    history = pd.DataFrame([h for h in trainer.state.log_history if "loss" in h])
    return history.reindex(columns=HISTORY_COLUMNS)
