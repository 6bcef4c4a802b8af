"""Package the suite for an offline Kaggle kernel: ``utils``, the trained models and,
optionally, the wheels of the pinned libraries, as Kaggle dataset folders; and upload them.

    python -m utils.package --work WORK_DIR --out DIR --owner KAGGLE_USER [--half]
                            [--wheels [--python-version 3.11]] [--upload [--notes TEXT]]

writes ``DIR/lecr-utils`` (the ``utils`` package), ``DIR/lecr-retriever`` (notebook 03's
validated retriever, its last round, and in ``zero_shot/`` the untuned model notebook 04
fused, if any), ``DIR/lecr-reranker`` (the reranker notebook 05
selected, with its settings and tuned post-processing) and, with ``--wheels``,
``DIR/lecr-wheels`` (the pinned libraries and what they need, for Kaggle's Python; notebook
06 installs them offline when the kernel's versions differ from those the models recorded:
:mod:`utils.versions`). ``--half`` saves the weights in float16 (half the upload; they are
read back as float32; the content embeddings saved with the retriever by notebook 04,
:mod:`utils.embcache`, are then left out, since other weights embed differently).

It also writes ``DIR/lecr-submission``: notebook 06 with the ``kernel-metadata.json`` that
``kaggle kernels push -p DIR/lecr-submission`` needs to run it offline with the datasets and
the competition attached.

``--upload`` sends each folder with ``kagglehub.dataset_upload``, which keeps sub-folders
(a model's ``1_Pooling/``, ``utils/``) and creates the dataset the first time, a new version
after. (The Kaggle CLI's ``kaggle datasets create|version -p FOLDER`` skips sub-folders
unless given ``--dir-mode zip``.) Every folder is checked first: nothing in it may name an
absolute or machine-local path (:func:`check_portable`).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from . import embcache, paths, versions
from .ranker import MODEL_FILE
from .reranker import SETTINGS_FILE, selected

SKIP = shutil.ignore_patterns("trainer", "__pycache__", "*.pyc", "checkpoint-*")
NAMES = ("utils", "retriever", "reranker")
TITLES = {"utils": "LECR suite utils", "retriever": "LECR retriever", "reranker": "LECR reranker",
          "wheels": "LECR wheels"}
LOCAL = re.compile(r"(?<![\w.:/])(?:/(?:home|root|tmp|work|Users|mnt|opt|usr|var|private)/"
                   r"|[A-Za-z]:\\\\|site-packages|\.venv)")
"""What an absolute or machine-local path looks like inside a saved text file."""
TEXT_SUFFIXES = {".json", ".txt", ".md", ".csv", ".py", ".cfg", ".yaml", ".yml"}


def _metadata(folder: Path, slug: str, owner: str, title: str) -> None:
    (folder / "dataset-metadata.json").write_text(json.dumps(
        {"title": title, "id": f"{owner}/{slug}", "licenses": [{"name": "other"}]}, indent=2))


def local_model(name, scratch: Path) -> Path:
    """``name`` as a folder to copy: itself if it is one, else (a hub id) the model
    sentence-transformers loads from the hub, saved into ``scratch``; a clear error offline."""
    if Path(str(name)).is_dir():
        return Path(str(name))
    from .models import load_bi_encoder

    try:
        load_bi_encoder(name).save(str(scratch))
    except OSError as error:
        raise RuntimeError(f"the zero-shot model {name!r} that notebook 04 fused is not a folder here "
                           f"and could not be loaded from the Hugging Face hub ({error}); package on "
                           f"a machine online, or where that model is a local folder") from None
    return scratch


def _copy_model(source: Path, target: Path, half: bool, kind: str, work: Path | None = None) -> None:
    shutil.copytree(source, target, ignore=SKIP, dirs_exist_ok=True)
    for marker in (paths.RETRIEVER_MARKER, paths.RERANKER_MARKER):  # a run saved before the
        if (target / marker).is_file():                             # names were portable
            saved = json.loads((target / marker).read_text())
            for key in ("base_model", "backbone"):
                if key in saved:
                    saved[key] = paths.portable_name(saved[key], work)
            (target / marker).write_text(json.dumps(saved, indent=2))
    if half and not (target / MODEL_FILE).is_file():  # a feature ranker has no weights to halve
        from .models import load_bi_encoder, load_cross_encoder

        model = (load_bi_encoder if kind == "retriever" else load_cross_encoder)(target)
        model.half().save(str(target))
        for name in (embcache.FILE, embcache.META):  # made by the float32 weights: not reused
            (target / name).unlink(missing_ok=True)


def check_portable(folder) -> None:
    """Raise if a text file under ``folder`` names an absolute or machine-local path (a home
    folder, a virtual environment, site-packages): what a kernel elsewhere cannot read."""
    found = []
    for path in sorted(Path(folder).rglob("*")):
        if path.is_file() and path.suffix in TEXT_SUFFIXES:
            for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
                if LOCAL.search(line):
                    found.append(f"{path.relative_to(folder)}:{number}: {line.strip()[:120]}")
    if found:
        raise ValueError(f"{folder} names machine-local paths, which a Kaggle kernel cannot "
                         f"read:\n  " + "\n  ".join(found[:10]) + "\nSave models with "
                         f"utils.paths.portable_name (retrain with this version of the suite).")


PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64")
"""Kaggle's images: x86-64 Linux, glibc 2.28 or newer (pip takes each tag as it is given)."""


def wheels(out, python_version: str = "3.11", platforms=PLATFORMS,
           owner: str = "your-kaggle-username", run=subprocess.run) -> Path:
    """``out/lecr-wheels``: wheels of :func:`utils.versions.wheel_requirements` (the pinned
    libraries at the versions installed here, and what they need, torch aside) for
    ``python_version`` on ``platforms``, by ``pip download --only-binary``; with
    ``wheels.json`` (:data:`utils.versions.WHEELS_FILE`), which notebook 06 finds it by."""
    folder = Path(out) / "lecr-wheels"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    wanted = versions.wheel_requirements()
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
               "--python-version", python_version, "--implementation", "cp",
               *[flag for platform in platforms for flag in ("--platform", platform)],
               "--dest", str(folder), *[f"{name}=={version}" for name, version in wanted.items()]]
    result = run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"pip download failed (is every pinned version published as a wheel "
                           f"for Python {python_version}?):\n{result.stderr}")
    (folder / versions.WHEELS_FILE).write_text(json.dumps(
        {"python": python_version, "platforms": list(platforms), "packages": wanted}, indent=2))
    _metadata(folder, "lecr-wheels", owner, TITLES["wheels"])
    return folder


def package(work, out, owner: str = "your-kaggle-username", half: bool = False) -> dict[str, Path]:
    """Write the ``lecr-utils``, ``lecr-retriever`` and ``lecr-reranker`` dataset folders
    under ``out`` from the finished run in ``work``; each checked by :func:`check_portable`."""
    from .retriever import trained

    work, out = Path(work), Path(out)
    retriever_dir = trained(work / "retriever")["main"][0]
    reranker_dir = selected(work)
    if reranker_dir is None or not (reranker_dir / SETTINGS_FILE).is_file():
        raise FileNotFoundError(f"{work / 'reranker'}: no selected reranker; run "
                                f"notebooks/05_reranker.ipynb first.")
    folders = {name: out / f"lecr-{name}" for name in NAMES}
    for folder in folders.values():
        if folder.exists():
            shutil.rmtree(folder)
    shutil.copytree(paths.PROJECT / "utils", folders["utils"] / "utils", ignore=SKIP)
    _copy_model(retriever_dir, folders["retriever"], half, "retriever", work)
    zero_shot = json.loads((reranker_dir / SETTINGS_FILE).read_text()).get("recall", {}).get("zero_shot")
    if zero_shot:  # notebook 04 fused an untuned model: it travels with the retriever
        from .retriever import ZERO_SHOT_DIR, zero_shot_model

        with tempfile.TemporaryDirectory() as scratch:
            source = local_model(zero_shot_model(zero_shot, work=work), Path(scratch))
            _copy_model(source, folders["retriever"] / ZERO_SHOT_DIR, half, "retriever", work)
    _copy_model(reranker_dir, folders["reranker"], half, "reranker", work)
    for name, folder in folders.items():
        _metadata(folder, f"lecr-{name}", owner, TITLES[name])
        if name != "utils":  # source code, whose docstrings may show example paths
            check_portable(folder)
    return folders


def kernel(out, owner: str, datasets, wheels: bool = False) -> Path:
    """``out/lecr-submission``: notebook 06 and the ``kernel-metadata.json`` with which
    ``kaggle kernels push -p out/lecr-submission`` creates (or versions) a private kernel that
    runs it offline, the datasets and the competition attached."""
    folder = Path(out) / "lecr-submission"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(paths.PROJECT / "notebooks" / "06_submission.ipynb", folder / "06_submission.ipynb")
    slugs = [f"lecr-{name}" for name in (*datasets, *(["wheels"] if wheels else []))]
    (folder / "kernel-metadata.json").write_text(json.dumps({
        "id": f"{owner}/lecr-submission", "title": "LECR submission",
        "code_file": "06_submission.ipynb", "language": "python", "kernel_type": "notebook",
        "is_private": True, "enable_gpu": False, "enable_tpu": False, "enable_internet": False,
        "dataset_sources": [f"{owner}/{slug}" for slug in slugs],
        "competition_sources": [paths.COMPETITION], "kernel_sources": [], "model_sources": [],
    }, indent=2))
    return folder


def uploaded_files(folder) -> list[Path]:
    """The files ``kagglehub.dataset_upload`` sends from ``folder`` (its own walk and default
    ignore patterns), relative to it: what the dataset will hold."""
    from kagglehub.datasets import DEFAULT_IGNORE_PATTERNS
    from kagglehub.gcs_upload import filtered_walk, normalize_patterns

    patterns = normalize_patterns(default=DEFAULT_IGNORE_PATTERNS, additional=None)
    return sorted((Path(root) / name).relative_to(folder)
                  for root, _, names in filtered_walk(base_dir=str(folder), ignore_patterns=patterns)
                  for name in names)


def upload(folder, notes: str = "") -> str:
    """Create the Kaggle dataset of ``folder`` (its ``dataset-metadata.json`` names it), or
    add a version with ``notes`` if it exists, with ``kagglehub.dataset_upload`` (needs
    Kaggle credentials: ``kagglehub.login()`` or ``KAGGLE_USERNAME``/``KAGGLE_KEY``)."""
    import kagglehub

    handle = json.loads((Path(folder) / "dataset-metadata.json").read_text())["id"]
    kagglehub.dataset_upload(handle, str(folder), version_notes=notes)
    return handle


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m utils.package", description=__doc__.split("\n")[0])
    parser.add_argument("--work", required=True, help="the working folder of a finished run")
    parser.add_argument("--out", required=True, help="where to write the dataset folders")
    parser.add_argument("--owner", default="your-kaggle-username", help="Kaggle user owning the datasets")
    parser.add_argument("--half", action="store_true", help="store the weights in float16")
    parser.add_argument("--wheels", action="store_true",
                        help="also build lecr-wheels: the pinned libraries for Kaggle's Python")
    parser.add_argument("--python-version", default="3.11",
                        help="the kernel's Python (`!python --version` in a Kaggle notebook)")
    parser.add_argument("--upload", action="store_true",
                        help="upload each folder with kagglehub (create, or a new version)")
    parser.add_argument("--notes", default="", help="version notes for --upload")
    args = parser.parse_args(argv)
    if args.upload and args.owner == "your-kaggle-username":
        parser.error("--upload needs --owner, your Kaggle user name")
    folders = package(args.work, args.out, args.owner, args.half)
    if args.wheels:
        folders["wheels"] = wheels(args.out, args.python_version, owner=args.owner)
    notebook = kernel(args.out, args.owner, NAMES, args.wheels)
    for name, folder in folders.items():
        size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20
        print(f"{name}: {folder} ({size:.0f} MiB)")
        if args.upload:
            print(f"  uploaded as {upload(folder, args.notes)}")
    print(f"kernel: {notebook} (attach and run: kaggle kernels push -p {notebook})")


if __name__ == "__main__":
    main()
