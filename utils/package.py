"""Package the suite for an offline Kaggle kernel: ``utils`` and the trained models as
Kaggle dataset folders, each with its ``dataset-metadata.json``.

    python -m utils.package --work WORK_DIR --out DIR [--owner KAGGLE_USER] [--half]

writes ``DIR/lecr-utils`` (the ``utils`` package), ``DIR/lecr-retriever`` (notebook 03's
validated retriever, its last round) and ``DIR/lecr-reranker`` (the reranker notebook 05
selected, with its settings and tuned post-processing). Upload each with
``kaggle datasets create -p DIR/<folder>`` (``kaggle datasets version -p ...`` later), attach
them and the competition data to a kernel running ``notebooks/06_submission.ipynb`` with
internet off: its first cell finds ``utils`` under ``/kaggle/input``, and it finds the models
by their ``fit.json`` / ``reranker.json``. ``--half`` saves the weights in float16 (half the
upload; they are read back as float32). A selected feature ranker (``utils.ranker``) is a
scikit-learn pickle: the kernel's scikit-learn should be the version that trained it.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from . import paths
from .ranker import MODEL_FILE
from .reranker import SETTINGS_FILE, selected

SKIP = shutil.ignore_patterns("trainer", "__pycache__", "*.pyc", "checkpoint-*")


def _metadata(folder: Path, slug: str, owner: str, title: str) -> None:
    (folder / "dataset-metadata.json").write_text(json.dumps(
        {"title": title, "id": f"{owner}/{slug}", "licenses": [{"name": "other"}]}, indent=2))


def _copy_model(source: Path, target: Path, half: bool, kind: str) -> None:
    shutil.copytree(source, target, ignore=SKIP)
    if half and not (target / MODEL_FILE).is_file():  # a feature ranker has no weights to halve
        if kind == "retriever":
            from .retriever import load_model

            model = load_model(target)
        else:
            from .reranker import load_model

            model = load_model(target)
        model.half().save(str(target))


def package(work, out, owner: str = "your-kaggle-username", half: bool = False) -> dict[str, Path]:
    from .retriever import trained

    work, out = Path(work), Path(out)
    retriever_dir = trained(work / "retriever")["main"][0]
    reranker_dir = selected(work)
    if reranker_dir is None or not (reranker_dir / SETTINGS_FILE).is_file():
        raise FileNotFoundError(f"{work / 'reranker'}: no selected reranker; run "
                                f"notebooks/05_reranker.ipynb first.")
    folders = {name: out / f"lecr-{name}" for name in ("utils", "retriever", "reranker")}
    for folder in folders.values():
        if folder.exists():
            shutil.rmtree(folder)
    shutil.copytree(paths.PROJECT / "utils", folders["utils"] / "utils", ignore=SKIP)
    _copy_model(retriever_dir, folders["retriever"], half, "retriever")
    _copy_model(reranker_dir, folders["reranker"], half, "reranker")
    titles = {"utils": "LECR suite utils", "retriever": "LECR retriever", "reranker": "LECR reranker"}
    for name, folder in folders.items():
        _metadata(folder, f"lecr-{name}", owner, titles[name])
    return folders


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m utils.package", description=__doc__.split("\n")[0])
    parser.add_argument("--work", required=True, help="the working folder of a finished run")
    parser.add_argument("--out", required=True, help="where to write the dataset folders")
    parser.add_argument("--owner", default="your-kaggle-username", help="Kaggle user owning the datasets")
    parser.add_argument("--half", action="store_true", help="store the weights in float16")
    args = parser.parse_args(argv)
    for name, folder in package(args.work, args.out, args.owner, args.half).items():
        size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20
        print(f"{name}: {folder} ({size:.0f} MiB)")


if __name__ == "__main__":
    main()
