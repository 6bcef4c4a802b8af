"""Content embeddings computed once, shipped with the retriever, looked up at submission time.

Embedding the content is most of the submission path's time on a CPU, yet the hidden test's
content is mostly content the retriever has already embedded. LECR's efficiency-track
winners shipped those embeddings; so does the suite:

- notebook 03 embeds the content once per model to validate it and keeps those embeddings
  beside the model (:data:`FILE`; :func:`utils.retrieval.retriever.validation_report`);
- notebook 04 recalls with them, embeds only the misses, and saves the result beside the
  model: the main retriever's in its round folder, the zero-shot model's in that folder's
  ``zero_shot/``;
- :mod:`utils.kaggle.package` ships them inside the retriever's dataset;
- notebook 06 (``utils.retrieval.candidates.recall``) looks each content text up and embeds only the
  misses: new items, and items whose text changed.

A vector is keyed by a hash of the exact text the model reads and the model's max length;
the cache as a whole by a hash of the model's weights (:func:`model_id`). A text built with
other ``TextConfig`` settings is another text, so it misses; a cache saved for other weights
(retrained, or halved by ``utils.kaggle.package --half``) is not used at all.

The precision the weights ran in (float32, float16 on a GPU, bfloat16 on a CPU with AMX:
:func:`utils.models.inference_dtype`) is deliberately not part of the key: the cache is
mostly made on one machine and used on another, and a mix of float32 vectors with bfloat16
queries and fresh texts moves the candidates about as much as bfloat16 alone does,
at the same recall
(``bench/cache_precision.py``; docs/RESULTS.md).
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import numpy as np

from ..retrieval import search

log = logging.getLogger(__name__)

FILE = "content_embeddings.npz"
META = "content_embeddings.json"
KEY_BYTES = 16


def keys(texts, max_length: int) -> np.ndarray:
    """One 16-byte BLAKE2b digest per text, of the text and ``max_length`` (``S16`` array)."""
    return np.array([hashlib.blake2b(f"{max_length}\n{text}".encode(), digest_size=KEY_BYTES).digest()
                     for text in texts], dtype=f"S{KEY_BYTES}")


def model_id(model_dir) -> str | None:
    """A hash of the weight files in ``model_dir`` (``*.safetensors``, else ``*.bin``); None
    for a hub id or a folder without weights (nothing to key a cache by)."""
    folder = Path(str(model_dir))
    files = sorted(folder.glob("*.safetensors")) or sorted(folder.glob("*.bin")) if folder.is_dir() else []
    if not files:
        return None
    digest = hashlib.blake2b(digest_size=16)
    for file in files:
        with open(file, "rb") as handle:
            while chunk := handle.read(1 << 24):
                digest.update(chunk)
    return digest.hexdigest()


class ContentCache:
    """Embeddings by text key for one model and max length; :meth:`embed` fills it."""

    def __init__(self, model: str | None, max_length: int, dtype=np.float32,
                 keys_: np.ndarray | None = None, vectors: np.ndarray | None = None):
        self.model, self.max_length, self.dtype = model, int(max_length), np.dtype(dtype)
        self.keys = np.array([], dtype=f"S{KEY_BYTES}") if keys_ is None else keys_
        self.vectors = vectors
        self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self.keys)

    def __repr__(self) -> str:
        return (f"ContentCache({len(self):,} texts, max length {self.max_length}, "
                f"{self.dtype.name}, model {str(self.model)[:12]})")

    def embed(self, model, texts, batch_size: int = 256) -> np.ndarray:
        """Embeddings of ``texts`` as :func:`utils.retrieval.search.embed` returns them: looked up where
        cached, else embedded with ``model`` and added to the cache."""
        texts = list(texts)
        if not texts:
            return search.embed(model, texts, batch_size)
        wanted = keys(texts, self.max_length)
        found = self._find(wanted)
        miss = np.flatnonzero(found < 0)
        self.hits += len(texts) - len(miss)
        self.misses += len(miss)
        fresh = search.embed(model, [texts[i] for i in miss], batch_size) if len(miss) else None
        width = fresh.shape[1] if fresh is not None else self.vectors.shape[1]
        out = np.empty((len(texts), width), dtype=np.float32)
        hit = np.flatnonzero(found >= 0)
        if len(hit):
            out[hit] = self.vectors[found[hit]]  # before _add re-sorts the rows
        if len(miss):
            out[miss] = fresh  # identical texts got one vector (search.embed)
            new_keys, first = np.unique(wanted[miss], return_index=True)
            self._add(new_keys, fresh[first])
        return out

    def _find(self, wanted: np.ndarray) -> np.ndarray:
        """Row of each key in :attr:`vectors`, -1 where absent (keys kept sorted)."""
        if not len(self.keys):
            return np.full(len(wanted), -1)
        at = np.minimum(np.searchsorted(self.keys, wanted), len(self.keys) - 1)
        return np.where(self.keys[at] == wanted, at, -1)

    def _add(self, new_keys: np.ndarray, new_vectors: np.ndarray) -> None:
        merged = np.concatenate([self.keys, new_keys])
        vectors = new_vectors.astype(self.dtype) if self.vectors is None else np.concatenate(
            [self.vectors, new_vectors.astype(self.dtype)])
        order = np.argsort(merged, kind="stable")
        self.keys, self.vectors = merged[order], vectors[order]

    def save(self, folder) -> Path:
        """Write the cache into ``folder`` (created if needed)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        np.savez(folder / FILE, keys=self.keys, vectors=self.vectors if self.vectors is not None
                 else np.empty((0, 0), dtype=self.dtype))
        (folder / META).write_text(json.dumps({"model": self.model, "max_length": self.max_length,
                                               "dtype": self.dtype.name, "texts": len(self)}, indent=1))
        return folder / FILE

    @classmethod
    def load(cls, folder, model_dir, max_length: int) -> "ContentCache":
        """The cache saved in ``folder`` if it was made for ``model_dir``'s weights and
        ``max_length``, else an empty one for them (logged)."""
        folder, current = Path(folder), model_id(model_dir)
        empty = cls(current, max_length)
        if not (folder / FILE).is_file() or current is None:
            return empty
        meta = json.loads((folder / META).read_text())
        if meta.get("model") != current or meta.get("max_length") != int(max_length):
            log.info("%s: content embeddings saved for other weights or max length; not used", folder)
            return empty
        with np.load(folder / FILE) as saved:
            vectors = saved["vectors"] if len(saved["keys"]) else None
            return cls(current, max_length, meta.get("dtype", "float32"), saved["keys"], vectors)
