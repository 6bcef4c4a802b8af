"""The library versions a saved model was made with, and the check that a kernel runs them.

A Kaggle image ships its own torch, transformers, sentence-transformers and scikit-learn,
and a kernel with the internet off cannot ``pip install`` from PyPI. So every saved model
records the versions it was trained with (:func:`record`, in ``fit.json`` and
``reranker.json``), ``python -m utils.kaggle.package --wheels`` builds a dataset of the pinned
packages' wheels for Kaggle's Python, and notebook 06 calls :func:`ensure` before it imports
any of them: same versions, nothing to do; other versions, install the attached wheels offline
(``pip install --no-index --find-links``); no wheels attached, stop at once with a message
naming both versions and the fix.

Only standard-library imports here: this module runs before the libraries it checks.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version

PINNED = ("sentence-transformers", "transformers", "scikit-learn")
"""Must match what trained the models: their loading code and file formats change between
versions (scikit-learn's pickles are only read back by the version that wrote them)."""
RECORDED = ("torch", *PINNED)
"""Recorded with every model. torch is informative only: the models are saved as
safetensors, and a kernel keeps the torch build that matches its accelerator."""
KEY = "versions"
"""The key under which ``fit.json`` and ``reranker.json`` hold :func:`record`."""
WHEELS_FILE = "wheels.json"
"""Marks the wheels dataset (``python -m utils.kaggle.package --wheels``): the Python versions and the
packages its wheels were downloaded for."""
INT8_PACKAGES = ("onnxruntime", "onnx")
"""int8 inference on a CPU (:func:`utils.models.int8`): not pinned to the models (they only
run them), shipped in the wheels dataset, installed offline by :func:`ensure_present`."""
SPEED_PACKAGES = ("sparse-dot-topn",)
"""TF-IDF's top-k sparse product on every core (:func:`utils.retrieval.candidates.tfidf_candidates`;
without it, the dense product, the same candidates but slower): shipped in the wheels
dataset, installed offline by :func:`ensure_present`."""
NOT_WHEELS = ("torch", "triton")
"""Left out of the wheels dataset, with everything only they need (gigabytes, and the
kernel's own build matches its GPU); names starting ``nvidia-`` too."""


def installed(name: str) -> str | None:
    """The installed version of distribution ``name``, or None."""
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def record() -> dict[str, dict[str, str | None]]:
    """``{"versions": {name: version}}`` of :data:`RECORDED`, to save beside a model."""
    return {KEY: {name: installed(name) for name in RECORDED}}


def recorded(*settings: dict) -> dict[str, str]:
    """The pinned versions the saved models' settings (parsed ``fit.json`` /
    ``reranker.json``) were made with; raises if two models disagree."""
    found: dict[str, str] = {}
    for saved in settings:
        for name, wanted in (saved.get(KEY) or {}).items():
            if name not in PINNED or wanted is None:
                continue
            if found.setdefault(name, wanted) != wanted:
                raise ValueError(f"the saved models were made with two versions of {name} "
                                 f"({found[name]} and {wanted}); package models trained in one "
                                 f"environment")
    return found


def mismatches(wanted: dict[str, str]) -> dict[str, tuple[str, str | None]]:
    """``{name: (recorded, installed)}`` for each pinned library whose installed version
    differs from the recorded one."""
    return {name: (want, installed(name)) for name, want in wanted.items()
            if installed(name) != want}


def _describe(diff: dict[str, tuple[str, str | None]]) -> str:
    return ", ".join(f"{name} {have or 'not installed'} (the models were saved with {want})"
                     for name, (want, have) in diff.items())


def install_command(wanted: dict[str, str], wheels) -> list[str]:
    """The offline pip command that installs ``wanted`` from the wheels folder ``wheels``."""
    return [sys.executable, "-m", "pip", "install", "--quiet", "--no-index",
            "--find-links", str(wheels), *[f"{name}=={want}" for name, want in sorted(wanted.items())]]


def ensure(wanted: dict[str, str], wheels=None, run=subprocess.run) -> dict[str, tuple[str, str | None]]:
    """Make the installed pinned libraries the versions ``wanted`` (:func:`recorded`).

    Nothing to do when they match. Otherwise install them from the folder ``wheels``
    (``python -m utils.kaggle.package --wheels``) offline, or, without one, raise at once with
    both versions and the fix. Returns what differed before installing. Call it before the
    libraries are imported: a module already imported keeps its old version until the
    Python process restarts (then this raises, saying so).
    """
    diff = mismatches(wanted)
    if not diff:
        return diff
    if wheels is not None:
        built_for = wheels_python(wheels)
        here = f"{sys.version_info.major}.{sys.version_info.minor}"
        if built_for and here not in built_for:
            raise RuntimeError(
                f"library versions differ from those the models were saved with: {_describe(diff)}; "
                f"the attached wheels ({wheels}) were built for Python {', '.join(built_for)}, but this "
                f"kernel runs Python {here}: rebuild them with `python -m utils.kaggle.package --wheels "
                f"--python-version {here}` and attach the new version.")
    if wheels is None:
        raise RuntimeError(
            f"library versions differ from those the models were saved with: {_describe(diff)}. "
            f"Attach the wheels dataset made by `python -m utils.kaggle.package --wheels` (pip installs "
            f"it offline), or install these versions, or retrain the models with the installed "
            f"ones.")
    result = run(install_command({name: want for name, (want, _) in diff.items()}, wheels),
                 capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"installing {_describe(diff)} from {wheels} failed:\n"
                           f"{result.stdout}\n{result.stderr}\nThe wheels dataset must be built "
                           f"for this kernel's Python ({sys.version_info.major}."
                           f"{sys.version_info.minor}): `python -m utils.kaggle.package --wheels "
                           f"--python-version {sys.version_info.major}.{sys.version_info.minor}`.")
    importlib.invalidate_caches()
    still = mismatches(wanted)
    loaded = [name for name in diff if name.replace("-", "_").replace("scikit_learn", "sklearn")
              in sys.modules]
    if still or loaded:
        raise RuntimeError(f"installed {', '.join(f'{n}=={w}' for n, (w, _) in diff.items())} "
                           f"from {wheels}, but this Python process "
                           + (f"still sees {_describe(still)}" if still else
                              f"had already imported {', '.join(loaded)}")
                           + ": restart the kernel and run the notebook again.")
    return diff


def wheels_python(wheels) -> list[str]:
    """The Python versions the wheels folder ``wheels`` was built for (its :data:`WHEELS_FILE`;
    empty where it records none)."""
    import json
    from pathlib import Path

    marker = Path(wheels) / WHEELS_FILE
    if not marker.is_file():
        return []
    found = json.loads(marker.read_text()).get("python") or []
    return [found] if isinstance(found, str) else list(found)


def ensure_present(names, wheels=None, run=subprocess.run) -> list[str]:
    """Install those of ``names`` that are missing from the folder ``wheels`` (offline), if
    given; returns the names still missing (the caller falls back, saying so)."""
    missing = [name for name in names if installed(name) is None]
    if missing and wheels is not None:
        run([sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--find-links",
             str(wheels), *missing], capture_output=True, text=True)
        importlib.invalidate_caches()
        missing = [name for name in missing if installed(name) is None]
    return missing


def require(name: str, major: int, what: str) -> None:
    """Raise a clear ImportError unless ``name``'s installed major version is ``major``: for
    an import path (``what``) that exists in that major version only."""
    have = installed(name)
    if have is None or int(have.split(".")[0]) != major:
        raise ImportError(
            f"{what} needs {name} {major}.x, but {have or 'none'} is installed. Install {name} "
            f"{major}.x as requirements.txt pins it (on an offline Kaggle kernel: attach the wheels "
            f"dataset of `python -m utils.kaggle.package --wheels`, which notebook 06 installs).")
