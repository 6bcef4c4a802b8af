"""int8 ONNX exports kept between runs, so that the same weights are exported once.

:func:`utils.models.int8` exports an encoder's transformer to ONNX and quantises it, a few
seconds a model on a CPU. The pipeline loads the same weights several times (notebook 03
validates the retriever it saves, notebook 04 recalls with it, notebook 06 predicts with it
and with notebook 05's cross-encoder), and a rerun of a notebook loads them again. The
quantised graph of each is kept here, looked up by :func:`key`, and reused.

- Where: ``$LECR_INT8_CACHE`` if set (``off`` turns the cache off), else
  ``$XDG_CACHE_HOME/lecr/int8``, else ``~/.cache/lecr/int8``; a machine-wide cache, as
  Hugging Face's and torch's are, since the same model is loaded from several working
  folders and from read-only Kaggle datasets.
- Key: a hash of the weights as exported (every tensor's name, type, shape and bytes), the
  model's class and config, the export's settings and the versions of torch, transformers,
  onnx and ONNX Runtime (:data:`FORMAT` changes when the export code does). Other weights, a
  retrained or halved model, miss.
- Bound: at most :data:`MAX_BYTES`; the least recently used files go first.
- A folder that cannot be written (read-only, full) is logged and skipped: the export is
  used as it is, uncached. A cached file that does not load (damaged) is exported again and
  replaced (:func:`utils.models.int8`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

log = logging.getLogger(__name__)

ENV = "LECR_INT8_CACHE"
FORMAT = 1
MAX_BYTES = 2 << 30
SUFFIX = ".int8.onnx"
CONFIG_METADATA = {"architectures", "_name_or_path", "transformers_version", "dtype", "torch_dtype"}
"""Config entries left out of the key: a model saved and loaded again (a cross-encoder's
head class named on save, its folder, the library's version) exports the same graph; the
weights' type is in the key through the tensors."""
PART = ".part"  # a file being written; one left by a killed process goes after a day


def folder() -> Path | None:
    """The cache folder (see the module docstring), or None when ``$LECR_INT8_CACHE=off``."""
    chosen = os.environ.get(ENV, "")
    if chosen.lower() == "off":
        return None
    if chosen:
        return Path(chosen).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "lecr" / "int8"


def key(model, **settings) -> str:
    """A hex digest of ``model``'s weights (a ``torch.nn.Module``, in the dtype it will be
    exported in), class and config, ``settings`` (JSON-serialisable) and the versions that
    shape the export."""
    import onnx
    import onnxruntime
    import torch
    import transformers

    digest = hashlib.blake2b(digest_size=16)
    config = getattr(model, "config", None)
    config = config.to_dict() if hasattr(config, "to_dict") else repr(config)
    if isinstance(config, dict):  # what the graph computes, not where the weights came from
        config = {name: value for name, value in config.items() if name not in CONFIG_METADATA}
    versions = [module.__version__ for module in (torch, transformers, onnx, onnxruntime)]
    digest.update(json.dumps({"format": FORMAT, "class": type(model).__qualname__, "settings": settings,
                              "config": config, "versions": versions}, sort_keys=True, default=str).encode())
    for name, tensor in model.state_dict().items():
        tensor = tensor.detach().cpu().contiguous()
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy())
    return digest.hexdigest()


def get(digest: str) -> Path | None:
    """The cached file for ``digest`` (its use time refreshed), or None."""
    where = folder()
    path = where / f"{digest}{SUFFIX}" if where else None
    if path is None or not path.is_file():
        return None
    try:
        os.utime(path)
    except OSError:
        pass  # a read-only cache still serves
    return path


def put(digest: str, file: Path) -> Path | None:
    """Copy ``file`` into the cache as ``digest``'s and trim the cache to :data:`MAX_BYTES`;
    the cached path, or None when the cache is off or cannot be written."""
    where = folder()
    if where is None:
        return None
    target, part = where / f"{digest}{SUFFIX}", None
    try:
        where.mkdir(parents=True, exist_ok=True)
        handle, part = tempfile.mkstemp(dir=where, suffix=PART)
        os.close(handle)
        shutil.copyfile(file, part)
        os.replace(part, target)  # atomic: a concurrent reader sees all or nothing
    except OSError as error:
        log.warning("int8 cache: could not write %s (%s); the export is used uncached", target, error)
        if part:
            Path(part).unlink(missing_ok=True)
        return None
    trim(keep=target)
    return target


def trim(max_bytes: int | None = None, keep: Path | None = None) -> list[Path]:
    """Remove the least recently used files until the cache holds at most ``max_bytes``
    (default :data:`MAX_BYTES`), never ``keep``; the cached files removed. A partial file
    (:data:`PART`) older than a day, left by a killed process, goes too."""
    where = folder()
    if where is None or not where.is_dir():
        return []
    limit = MAX_BYTES if max_bytes is None else max_bytes
    files, now = [], time.time()
    for path in [*where.glob(f"*{SUFFIX}"), *where.glob(f"*{PART}")]:
        try:
            stat = path.stat()
            if path.suffix == PART and now - stat.st_mtime > 86400:
                path.unlink()
                continue
        except OSError:
            continue  # removed meanwhile by another process
        if path.suffix != PART:
            files.append((stat.st_mtime, stat.st_size, path))
    total = sum(size for _, size, _ in files)
    removed = []
    for _, size, path in sorted(files, key=lambda entry: entry[0]):
        if total <= limit:
            break
        if path == keep:
            continue
        try:
            path.unlink()
        except OSError:
            continue
        total -= size
        removed.append(path)
    return removed
