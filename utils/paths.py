"""Where the data and the working folder are, the same way in every notebook.

Data folder, first found wins:

1. an explicit path (a notebook's ``DATA_DIR`` parameter, ``--data`` of the runner);
   ``"demo"`` asks for the demo data explicitly;
2. ``/kaggle/input/learning-equality-curriculum-recommendations`` (a Kaggle kernel);
3. ``input/learning-equality-curriculum-recommendations`` in the project folder;
4. the demo data, generated once (deterministically) into ``WORK/demo-data``.

Working folder (folds, models, embeddings, candidates, figures, ``submission.csv``): an
explicit path, else ``$LECR_WORK_DIR``, else ``/kaggle/working`` on Kaggle, else
``~/lecr-working``; never the source tree.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from .data import FILES

COMPETITION = "learning-equality-curriculum-recommendations"
KAGGLE_INPUT = Path("/kaggle/input") / COMPETITION
KAGGLE_WORKING = Path("/kaggle/working")
PROJECT = Path(__file__).resolve().parent.parent
LOCAL_INPUT = PROJECT / "input" / COMPETITION

log = logging.getLogger(__name__)


def _is_competition_folder(path: Path) -> bool:
    return all((path / filename).is_file() for filename, _ in FILES.values())


def work_dir(explicit=None) -> Path:
    """The working folder (created if missing); see the module docstring for the order."""
    if explicit:
        path = Path(explicit)
    elif os.environ.get("LECR_WORK_DIR"):
        path = Path(os.environ["LECR_WORK_DIR"])
    elif KAGGLE_WORKING.is_dir():
        path = KAGGLE_WORKING
    else:
        path = Path.home() / "lecr-working"
    path = path.expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def demo_dir(work=None, size: str = "small") -> Path:
    """The demo dataset in ``WORK/demo-data[-SIZE]``, written on first use and again when
    the generator or its settings changed since (see :func:`utils.demo.stamp`)."""
    from .demo import STAMP_FILE, DemoConfig, stamp, write_demo

    suffix = "" if size == "small" else f"-{size}"
    path = work_dir(work) / f"demo-data{suffix}"
    config = DemoConfig.preset(size)
    recorded = path / STAMP_FILE
    current = recorded.is_file() and recorded.read_text() == stamp(config)
    if not (_is_competition_folder(path) and current):
        counts = write_demo(path, config)
        log.info("wrote the demo data to %s: %s", path, counts)
    return path


def data_dir(explicit=None, work=None) -> Path:
    """The competition folder to read; see the module docstring for the order."""
    if explicit == "demo":
        return demo_dir(work)
    if explicit:
        path = Path(explicit).expanduser().resolve()
        if not path.is_dir():
            raise FileNotFoundError(
                f"{path}: no such data folder; pass a folder in the Kaggle layout "
                f"(topics.csv, content.csv, correlations.csv, sample_submission.csv) or 'demo'.")
        return path
    for path in (KAGGLE_INPUT, LOCAL_INPUT):
        if _is_competition_folder(path):
            return path
    log.info("no competition data found in %s or %s: using the demo data",
             KAGGLE_INPUT, LOCAL_INPUT)
    return demo_dir(work)


KAGGLE_DATASETS = Path("/kaggle/input")


def model_dir(explicit, in_work: Path | None, marker: str, kind: str,
              attached: Path = KAGGLE_DATASETS) -> Path:
    """A trained model's folder, first found wins: ``explicit``; ``in_work`` (what an earlier
    notebook saved in the working folder); a dataset attached on Kaggle whose folder (or a
    folder below it) holds ``marker`` (e.g. ``reranker.json``), as ``utils.package`` writes
    them. Raises a clear error naming what was searched."""
    if explicit:
        path = Path(explicit).expanduser()
        if not (path / marker).is_file():
            raise FileNotFoundError(f"{path}: not a saved {kind} (no {marker}).")
        return path.resolve()
    if in_work is not None and (Path(in_work) / marker).is_file():
        return Path(in_work)
    found = sorted(p.parent for p in attached.glob(f"*/{marker}")) + sorted(
        p.parent for p in attached.glob(f"*/*/{marker}")) if attached.is_dir() else []
    if found:
        return found[0]
    raise FileNotFoundError(
        f"no saved {kind}: none in the working folder ({in_work}) and no dataset under "
        f"{attached} holds {marker}. Train it (notebooks 03-05), or attach the folder made by "
        f"`python -m utils.package`, or pass its path as a parameter.")
