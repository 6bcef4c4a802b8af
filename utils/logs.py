"""What the notebooks print: the suite's own progress, not the libraries' chatter.

:func:`setup` (each notebook's import cell) logs ``utils`` at INFO and everything else at
WARNING, and switches off the progress bars transformers, datasets and huggingface_hub draw
while loading, saving and mapping. Training keeps one bar per round (:class:`BarOnly`).
"""

from __future__ import annotations

import logging
import sys
import warnings
from contextlib import contextmanager


def setup(level: int = logging.INFO, libraries: bool = True) -> None:
    """The suite's logs at ``level``, the libraries' at WARNING, their loading bars off
    (``libraries=False``: without importing them, for notebook 06 before it checks their
    versions; call again with the default after)."""
    logging.basicConfig(level=logging.WARNING, format="%(message)s", force=True)
    logging.getLogger("utils").setLevel(level)
    logging.getLogger("__main__").setLevel(level)
    warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm without ipywidgets
    if not getattr(warnings.showwarning, "suite", False):
        warnings.showwarning = _show_data_warnings(warnings.showwarning)
    if not libraries:
        return
    try:
        import transformers

        transformers.utils.logging.set_verbosity_warning()
        transformers.utils.logging.disable_progress_bar()
    except ImportError:
        pass
    try:
        import huggingface_hub

        huggingface_hub.utils.disable_progress_bars()
    except ImportError:
        pass
    try:
        import datasets

        datasets.disable_progress_bars()
        datasets.logging.set_verbosity_warning()
    except ImportError:
        pass


@contextmanager
def quiet(*names: str):
    """The loggers ``names`` (and transformers' own verbosity) at ERROR inside: for a library
    call whose warnings say what is expected (a cross-encoder made from a bi-encoder gets a
    new classification head)."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    try:
        import transformers

        verbosity = transformers.utils.logging.get_verbosity()
        transformers.utils.logging.set_verbosity_error()
    except ImportError:
        transformers = None
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)
        if transformers is not None:
            transformers.utils.logging.set_verbosity(verbosity)


def _show_data_warnings(show):
    """``warnings.showwarning`` that prints the suite's :class:`~utils.data.load.DataWarning` as
    one line naming the file (no source location of the notebook cell), others as ``show``."""
    from .data.load import DataWarning

    def showwarning(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, DataWarning):
            print(f"note on the data: {message}", file=file or sys.stderr)
        else:
            show(message, category, filename, lineno, file, line)

    showwarning.suite = True
    return showwarning


@contextmanager
def no_progress_bars():
    """Every tqdm bar opened inside is disabled: for library calls that draw bars whatever
    their ``verbose`` says (sentence-transformers' ``mine_hard_negatives``, the model card's
    widget examples when a trainer starts)."""
    from tqdm import std

    original = std.tqdm.__init__

    def disabled(self, *args, **kwargs):
        kwargs["disable"] = True
        original(self, *args, **kwargs)

    std.tqdm.__init__ = disabled
    try:
        yield
    finally:
        std.tqdm.__init__ = original


def bar_only_callback():
    """A trainer callback that draws one progress bar per training run and none of the
    per-step log lines (the loss history comes back as a table instead)."""
    from transformers.trainer_callback import ProgressCallback

    class BarOnly(ProgressCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            pass

    return BarOnly()


def quiet_trainer(trainer):
    """``trainer`` (built with ``disable_tqdm=True``) without its per-step printer, with one
    progress bar (:func:`bar_only_callback`)."""
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    trainer.add_callback(bar_only_callback())
    return trainer
