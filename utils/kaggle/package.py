"""Package the suite for an offline Kaggle kernel: ``utils``, the trained models and,
optionally, the wheels of the pinned libraries, as Kaggle dataset folders; and upload them.

    python -m utils.kaggle.package --code --out DIR --owner KAGGLE_USER [--upload]
    python -m utils.kaggle.package --work WORK_DIR | --from-kernel KAGGLE_USER/lecr-train --out DIR
                            --owner KAGGLE_USER [--half] [--wheels [--python-version 3.12 ...]]
                            [--upload [--notes TEXT]]

``--code`` writes what training on Kaggle needs: ``DIR/lecr-code`` (``utils``, the notebooks,
``requirements.txt``) and ``DIR/lecr-train``, a script kernel with a GPU and the internet on
that installs the pinned libraries (torch as the image has it) and runs notebooks 01-05
(:data:`TRAIN_SCRIPT`); its output is a working folder, which ``--from-kernel`` downloads
(``kagglehub.notebook_output_download``) and packages.

Packaging a finished run writes ``DIR/lecr-utils`` (the ``utils`` package),
``DIR/lecr-retriever`` (notebook 03's validated retriever, its last round, and in
``zero_shot/`` the untuned model of the new-channel candidates), ``DIR/lecr-reranker`` (the
reranker notebook 05 selected, with its settings, tuned post-processing and the new-channel
pipeline) and, with ``--wheels``,
``DIR/lecr-wheels`` (the pinned libraries at the versions the models recorded, and what they
need, for Kaggle's Python, 3.12 unless ``--python-version`` says otherwise; notebook 06
installs them offline when the kernel's versions differ from those the models recorded, and
first checks they were built for its Python: :mod:`utils.kaggle.versions`). ``--half`` saves the
weights in float16 (half the upload; they are read back as float32; the content embeddings
saved with the retriever by notebook 04, :mod:`utils.retrieval.embcache`, are then left out, since other
weights embed differently).

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

from .. import paths
from ..kaggle import versions
from ..retrieval import embcache
from ..selection.cross_encoder import SETTINGS_FILE, selected
from ..selection.feature_ranker import MODEL_FILE

SKIP = shutil.ignore_patterns("trainer", "__pycache__", "*.pyc", "checkpoint-*")
NAMES = ("utils", "retriever", "reranker")
TITLES = {"utils": "LECR suite utils", "retriever": "LECR retriever", "reranker": "LECR reranker",
          "wheels": "LECR wheels"}
LOCAL = re.compile(r"(?<![\w.:/])(?:/(?:home|root|tmp|work|Users|mnt|opt|usr|var|private)/"
                   r"|[A-Za-z]:\\\\|site-packages|\.venv)")
"""What an absolute or machine-local path looks like inside a saved text file."""
TEXT_SUFFIXES = {".json", ".txt", ".md", ".csv", ".py", ".cfg", ".yaml", ".yml"}


DESCRIPTIONS = {
    "utils": ("other", "The utils package of the LECR curriculum recommendation suite, which notebook 06 imports."),
    "code": ("other", "The LECR suite's utils package, notebooks and requirements, which the training kernel runs."),
    "retriever": ("apache-2.0", "The fine-tuned all-MiniLM-L6-v2 bi-encoder (Apache 2.0, as the base model) of "
                                "the LECR suite, with the content embeddings it computed and the zero-shot model."),
    "reranker": ("apache-2.0", "The LECR suite's stage-2 model with its tuned selection rule and the "
                               "new-channel pipeline, as notebook 05 saved them."),
    "wheels": ("other", "Wheels of the libraries the LECR suite's models were saved with, from PyPI, each "
                        "under its own license, for notebook 06 to install offline."),
}
"""Each dataset's license and description (``dataset-metadata.json``)."""


def _metadata(folder: Path, slug: str, owner: str, title: str) -> None:
    license_, description = DESCRIPTIONS[slug.removeprefix("lecr-")]
    (folder / "dataset-metadata.json").write_text(json.dumps(
        {"title": title, "id": f"{owner}/{slug}", "licenses": [{"name": license_}],
         "description": description}, indent=2))


def local_model(name, scratch: Path) -> Path:
    """``name`` as a folder to copy: itself if it is one, else (a hub id) the model
    sentence-transformers loads from the hub, saved into ``scratch``; a clear error offline."""
    if Path(str(name)).is_dir():
        return Path(str(name))
    from ..models import load_bi_encoder

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
        from ..models import load_bi_encoder, load_cross_encoder

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
                         "read:\n  " + "\n  ".join(found[:10]) + "\nSave models with "
                         "utils.paths.portable_name (retrain with this version of the suite).")


PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64")
"""Kaggle's images: x86-64 Linux, glibc 2.28 or newer (pip takes each tag as it is given)."""


EXTRAS = (*versions.INT8_PACKAGES, *versions.SPEED_PACKAGES)
"""Shipped in the wheels dataset unpinned (the models only run with them): int8 inference and
TF-IDF's sparse product."""
KAGGLE_PYTHON = "3.12"
"""The Python of Kaggle's current image (Kaggle/docker-python, "Python 3.12 bump")."""


def _marker_environment(python_version: str) -> dict[str, str]:
    """The environment markers of a Kaggle kernel's CPython ``python_version`` on x86-64 Linux."""
    return {"python_version": python_version, "python_full_version": f"{python_version}.0",
            "sys_platform": "linux", "platform_system": "Linux", "platform_machine": "x86_64",
            "os_name": "posix", "implementation_name": "cpython",
            "platform_python_implementation": "CPython", "extra": ""}


def resolve(pins: dict[str, str], python_version: str, platforms=PLATFORMS, extras=EXTRAS,
            run=subprocess.run) -> dict[str, str]:
    """``{name: version}`` the wheels dataset holds for one Python: pip's own resolution (a dry
    run with ``--report``, nothing installed) of ``pins`` (the versions the models recorded) and
    ``extras`` for ``python_version`` on ``platforms``, then what the roots need, following each
    package's requirements under that Python's markers, never into
    :data:`utils.kaggle.versions.NOT_WHEELS` nor ``nvidia-*`` (gigabytes; the kernel's own torch
    matches its GPU)."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.json"
        command = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
                   "--report", str(report), "--only-binary=:all:", "--python-version", python_version,
                   "--implementation", "cp", *[flag for platform in platforms for flag in ("--platform", platform)],
                   "--target", str(Path(scratch) / "target"),
                   *[f"{name}=={version}" for name, version in pins.items()], *extras]
        result = run(command, capture_output=True, text=True)
        if result.returncode != 0 or not report.is_file():
            raise RuntimeError(f"pip could not resolve {sorted(pins.items())} for Python {python_version} "
                               f"(is every version published as a wheel for it?):\n{result.stderr}")
        items = json.loads(report.read_text())["install"]
    found = {canonicalize_name(item["metadata"]["name"]): item["metadata"] for item in items}
    environment = _marker_environment(python_version)
    wanted, todo = {}, [canonicalize_name(name) for name in (*pins, *extras)]
    while todo:
        name = todo.pop()
        if name in wanted or name not in found or name in versions.NOT_WHEELS or name.startswith("nvidia-"):
            continue
        wanted[name] = found[name]["version"]
        for requirement in map(Requirement, found[name].get("requires_dist") or []):
            if requirement.marker is None or requirement.marker.evaluate(environment):
                todo.append(canonicalize_name(requirement.name))
    return dict(sorted(wanted.items()))


def wheels(out, python_versions=(KAGGLE_PYTHON,), platforms=PLATFORMS, owner: str = "your-kaggle-username",
           pins: dict[str, str] | None = None, extras=EXTRAS, run=subprocess.run) -> Path:
    """``out/lecr-wheels``: for each of ``python_versions``, the wheels of :func:`resolve`'s set
    (``pins``: the versions the packaged models recorded, :func:`utils.kaggle.versions.recorded`; by
    default the installed ones), by ``pip download --no-deps --only-binary``; with
    ``wheels.json`` (:data:`utils.kaggle.versions.WHEELS_FILE`: the Pythons, the pins and each
    Python's packages), which notebook 06 finds it by and checks against its Python."""
    folder = Path(out) / "lecr-wheels"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    pins = dict(pins or {name: versions.installed(name) for name in versions.PINNED})
    packages = {}
    for python_version in python_versions:
        wanted = resolve(pins, python_version, platforms, extras, run)
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                   "--python-version", python_version, "--implementation", "cp",
                   *[flag for platform in platforms for flag in ("--platform", platform)],
                   "--dest", str(folder), *[f"{name}=={version}" for name, version in wanted.items()]]
        result = run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"pip download failed (is every pinned version published as a wheel "
                               f"for Python {python_version}?):\n{result.stderr}")
        packages[python_version] = wanted
    (folder / versions.WHEELS_FILE).write_text(json.dumps(
        {"python": list(python_versions), "platforms": list(platforms), "pins": pins, "packages": packages},
        indent=2))
    _metadata(folder, "lecr-wheels", owner, TITLES["wheels"])
    return folder


def recorded_pins(work) -> dict[str, str]:
    """The pinned libraries' versions the models of the finished run in ``work`` recorded (the
    main retriever's ``fit.json``, the selected reranker's ``reranker.json``); the installed
    versions for what they do not record."""
    from ..retrieval.retriever import trained

    retriever_dir = trained(Path(work) / "retriever")["main"][0]
    settings = [json.loads((retriever_dir / paths.RETRIEVER_MARKER).read_text())]
    reranker_dir = selected(work)
    if reranker_dir is not None and (reranker_dir / SETTINGS_FILE).is_file():
        settings.append(json.loads((reranker_dir / SETTINGS_FILE).read_text()))
    found = versions.recorded(*settings)
    return {name: found.get(name) or versions.installed(name) for name in versions.PINNED}


def package(work, out, owner: str = "your-kaggle-username", half: bool = False) -> dict[str, Path]:
    """Write the ``lecr-utils``, ``lecr-retriever`` and ``lecr-reranker`` dataset folders
    under ``out`` from the finished run in ``work``; each checked by :func:`check_portable`."""
    from ..retrieval.retriever import trained

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
        from ..retrieval.retriever import ZERO_SHOT_DIR, zero_shot_model

        with tempfile.TemporaryDirectory() as scratch:
            source = local_model(zero_shot_model(zero_shot, work=work), Path(scratch))
            _copy_model(source, folders["retriever"] / ZERO_SHOT_DIR, half, "retriever", work)
    _copy_model(reranker_dir, folders["reranker"], half, "reranker", work)
    for name, folder in folders.items():
        _metadata(folder, f"lecr-{name}", owner, TITLES[name])
        if name != "utils":  # source code, whose docstrings may show example paths
            check_portable(folder)
        check_upload(folder)
    return folders


TRAIN_SCRIPT = '''"""LECR training kernel (written by `python -m utils.kaggle.package --code`): notebooks 01-05 of the
suite on the competition data, in a Kaggle kernel with a GPU and the internet on. The models
stay in the working folder (/kaggle/working), the kernel's output: package them for notebook 06
with `python -m utils.kaggle.package --from-kernel USER/lecr-train`.

Environment (for a run elsewhere, as the tests emulate Kaggle): LECR_INPUT_DIR (default
/kaggle/input), LECR_WORK_DIR (default /kaggle/working), LECR_PROFILE (default gpu),
LECR_PARAMS (a JSON object of notebook parameters, as the runner's -p flags)."""
import json
import os
import subprocess
import sys
from pathlib import Path

INPUT = Path(os.environ.get("LECR_INPUT_DIR", "/kaggle/input"))
WORK = os.environ.get("LECR_WORK_DIR", "/kaggle/working")
PROFILE = os.environ.get("LECR_PROFILE", "gpu")
PARAMS = json.loads(os.environ.get("LECR_PARAMS") or "{}")
COMPETITION = "learning-equality-curriculum-recommendations"

code = sorted({p.parent.parent for p in INPUT.rglob("utils/predict.py") if (p.parent.parent / "notebooks").is_dir()})
if len(code) != 1:
    sys.exit(f"attach exactly one lecr-code dataset (python -m utils.kaggle.package --code); found {code or 'none'}")
data = sorted(p for p in INPUT.rglob(COMPETITION) if (p / "topics.csv").is_file())
if not data:
    sys.exit(f"attach the competition {COMPETITION} to this kernel (Add Input > Competitions)")
root = code[0]
# the pinned libraries, torch as the image has it (its build matches the GPU)
wanted = [line.split("#")[0].strip() for line in (root / "requirements.txt").read_text().splitlines()]
wanted = [line for line in wanted if line and not line.startswith("torch")]
subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *wanted], check=True)
flags = [flag for name, value in PARAMS.items() for flag in ("-p", f"{name}={value!r}")]
subprocess.run([sys.executable, "-m", "utils.run", "--data", str(data[0]), "--work", WORK,
                "--profile", PROFILE, "--only", "01", "02", "03", "04", "05", *flags], cwd=root, check=True)
print(f"the models are in {WORK}: package them with python -m utils.kaggle.package --from-kernel USER/lecr-train")
'''
"""The training kernel's script (:func:`train_kernel`)."""
CODE_FILES = ("utils", "notebooks", "requirements.txt")
"""What ``lecr-code`` holds: what the runner needs to run the notebooks."""


def code(out, owner: str = "your-kaggle-username") -> Path:
    """``out/lecr-code``: the ``utils`` package, the notebooks and ``requirements.txt``, the
    dataset a training kernel runs the suite from."""
    folder = Path(out) / "lecr-code"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for name in CODE_FILES:
        source = paths.PROJECT / name
        if source.is_dir():
            shutil.copytree(source, folder / name, ignore=shutil.ignore_patterns(
                "__pycache__", "*.pyc", ".ipynb_checkpoints"))
        else:
            shutil.copy2(source, folder / name)
    _metadata(folder, "lecr-code", owner, "LECR suite code")
    check_upload(folder)
    return folder


def train_kernel(out, owner: str) -> Path:
    """``out/lecr-train``: the training kernel's script (:data:`TRAIN_SCRIPT`) and the
    ``kernel-metadata.json`` with which ``kaggle kernels push -p out/lecr-train`` creates (or
    versions) a private script kernel with a GPU and the internet on, ``lecr-code`` and the
    competition attached, on the Kaggle image it was first run with."""
    folder = Path(out) / "lecr-train"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "train.py").write_text(TRAIN_SCRIPT)
    (folder / "kernel-metadata.json").write_text(json.dumps({
        "id": f"{owner}/lecr-train", "title": "LECR train", "code_file": "train.py", "language": "python",
        "kernel_type": "script", "is_private": True, "enable_gpu": True, "enable_tpu": False,
        "enable_internet": True, "dataset_sources": [f"{owner}/lecr-code"],
        "competition_sources": [paths.COMPETITION], "kernel_sources": [], "model_sources": [],
        "docker_image_pinning_type": "original",
    }, indent=2))
    return folder


def from_kernel(handle: str, into) -> Path:
    """Download the output of the training kernel ``handle`` (``USER/lecr-train``) into
    ``into`` with ``kagglehub.notebook_output_download``: a working folder to package."""
    import kagglehub

    return Path(kagglehub.notebook_output_download(handle, output_dir=str(into)))


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
        "docker_image_pinning_type": "original",
    }, indent=2))
    return folder


def check_upload(folder) -> None:
    """Raise if ``kagglehub`` would upload ``folder`` as one ``archive.zip`` (more files than
    its ``MAX_FILES_TO_UPLOAD``) instead of the files themselves."""
    from kagglehub.gcs_upload import MAX_FILES_TO_UPLOAD

    count = len(uploaded_files(folder))
    if count > MAX_FILES_TO_UPLOAD:
        raise ValueError(f"{folder} holds {count} files: kagglehub uploads a folder of more than "
                         f"{MAX_FILES_TO_UPLOAD} as one archive.zip, which the kernel would find in "
                         f"place of the folder. Leave files out of it (python -m utils.kaggle.package copies "
                         f"only what notebook 06 reads).")


def uploaded_files(folder) -> list[Path]:
    """The files ``kagglehub.dataset_upload`` sends from ``folder`` (its own walk and default
    ignore patterns), relative to it: what the dataset will hold."""
    from kagglehub.datasets import DEFAULT_IGNORE_PATTERNS
    from kagglehub.gcs_upload import filtered_walk, normalize_patterns

    patterns = normalize_patterns(default=DEFAULT_IGNORE_PATTERNS, additional=None)
    return sorted((Path(root) / name).relative_to(folder)
                  for root, _, names in filtered_walk(base_dir=str(folder), ignore_patterns=patterns)
                  for name in names)


CREDENTIALS = ("a Kaggle API token (kaggle.com > Settings > API > Create New Token) in the "
               "KAGGLE_API_TOKEN environment variable or the file ~/.kaggle/access_token; or the "
               "legacy KAGGLE_USERNAME and KAGGLE_KEY variables or ~/.kaggle/kaggle.json "
               "(kagglehub.login() keeps its token only in the Python process that called it)")
"""Where ``kagglehub`` and the Kaggle CLI find credentials that outlive a process."""


def has_credentials() -> bool:
    """Whether ``kagglehub`` finds Kaggle credentials (:data:`CREDENTIALS`)."""
    from kagglehub.config import get_kaggle_credentials

    return get_kaggle_credentials() is not None


def upload(folder, notes: str = "") -> str:
    """Create the Kaggle dataset of ``folder`` (its ``dataset-metadata.json`` names it), or
    add a version with ``notes`` if it exists, with ``kagglehub.dataset_upload`` (needs
    Kaggle credentials that persist: :data:`CREDENTIALS`)."""
    import kagglehub

    handle = json.loads((Path(folder) / "dataset-metadata.json").read_text())["id"]
    kagglehub.dataset_upload(handle, str(folder), version_notes=notes)
    return handle


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m utils.kaggle.package", description=__doc__.split("\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--work", help="the working folder of a finished run (or of a downloaded "
                                       "`kaggle kernels output`)")
    source.add_argument("--from-kernel", metavar="USER/lecr-train",
                        help="download the training kernel's output and package it")
    source.add_argument("--code", action="store_true",
                        help="write lecr-code and the lecr-train kernel, to train on Kaggle")
    parser.add_argument("--out", required=True, help="where to write the dataset folders")
    parser.add_argument("--owner", default="your-kaggle-username", help="Kaggle user owning the datasets")
    parser.add_argument("--half", action="store_true", help="store the weights in float16")
    parser.add_argument("--wheels", action="store_true",
                        help="also build lecr-wheels: the pinned libraries for Kaggle's Python")
    parser.add_argument("--python-version", action="append", metavar="X.Y",
                        help=f"the kernel's Python (`!python --version` in a Kaggle notebook; default "
                             f"{KAGGLE_PYTHON}, Kaggle's image); give it twice to build for two")
    parser.add_argument("--upload", action="store_true",
                        help="upload each folder with kagglehub (create, or a new version)")
    parser.add_argument("--notes", default="", help="version notes for --upload")
    args = parser.parse_args(argv)
    if args.upload and args.owner == "your-kaggle-username":
        parser.error("--upload needs --owner, your Kaggle user name")
    if args.upload and not has_credentials():
        parser.error(f"--upload needs Kaggle credentials, and none were found: {CREDENTIALS}")
    if args.code:
        folders = {"code": code(args.out, args.owner)}
        kernels = [train_kernel(args.out, args.owner)]
    else:
        work = from_kernel(args.from_kernel, Path(args.out) / "kernel-output") if args.from_kernel else args.work
        folders = package(work, args.out, args.owner, args.half)
        if args.wheels:
            folders["wheels"] = wheels(args.out, args.python_version or [KAGGLE_PYTHON], owner=args.owner,
                                       pins=recorded_pins(work))
        kernels = [kernel(args.out, args.owner, NAMES, args.wheels)]
    for name, folder in folders.items():
        size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20
        print(f"{name}: {folder} ({size:.0f} MiB)")
        if args.upload:
            print(f"  uploaded as {upload(folder, args.notes)}")
    for folder in kernels:
        print(f"kernel: {folder} (kaggle kernels push -p {folder})")


if __name__ == "__main__":
    main()
