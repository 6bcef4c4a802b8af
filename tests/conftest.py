import os
import shutil

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

from utils.demo import DemoConfig, write_demo  # noqa: E402


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory):
    """The tiny demo dataset (generated once per test session); do not modify it."""
    path = tmp_path_factory.mktemp("tiny") / "data"
    write_demo(path, DemoConfig.preset("tiny"))
    return path


@pytest.fixture
def tiny_copy(tiny_dir, tmp_path):
    """A private copy of the tiny demo dataset that a test may break."""
    return shutil.copytree(tiny_dir, tmp_path / "data")


@pytest.fixture(scope="session")
def small_dir(tmp_path_factory):
    """The small demo dataset (the demo run's default size); do not modify it."""
    path = tmp_path_factory.mktemp("small") / "data"
    write_demo(path, DemoConfig.preset("small"))
    return path
