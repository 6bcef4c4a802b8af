"""Loading the encoders, and the numeric precision they train and run in.

One place for what the retriever, candidate recall and the reranker share:

- ``load_bi_encoder`` / ``load_cross_encoder``: sentence-transformers models from a folder
  (offline) or a hub id, weights cast to a given type (float32 to train: full-precision
  master weights under mixed precision, even from a checkpoint saved in half precision);
- ``inference_dtype``: float16 on a CUDA device; on a CPU bfloat16 where it runs natively
  (Intel AMX: ``bf16_native``; ``set_cpu_bf16`` overrides), else float32;
- ``trainer_precision``: the Trainer's mixed-precision arguments for a config's choice;
- ``int8``: on a CPU, the encoder's transformer runs in ONNX Runtime with int8 weights
  (exported with ``torch.onnx.export``, quantised by ``onnxruntime.quantization``'s
  dynamic quantisation, per channel; ``fuse=True`` first fuses each layer's attention, layer
  norms and GELU with ONNX Runtime's transformer optimiser; the result kept by
  ``utils.int8cache`` for the next load of the same weights); tokenising, pooling and the head stay
  sentence-transformers' own, so ``encode`` and ``predict`` are unchanged;
- ``for_inference``: a model loaded to predict with: float16 on a GPU, int8 on a CPU when
  asked, else ``inference_dtype``'s (``load_for_inference``: a bi-encoder loaded so).

sentence-transformers' own ONNX backend needs ``optimum``, whose releases pin transformers
4.x; this suite runs transformers 5, hence the export here.
"""

from __future__ import annotations

import logging
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.cross_encoder import CrossEncoder

from . import int8cache, logs
from .kaggle.versions import INT8_PACKAGES

log = logging.getLogger(__name__)


def load_bi_encoder(path, max_length: int = 64, device: str | None = None,
                    dtype: torch.dtype = torch.float32) -> SentenceTransformer:
    """A sentence-transformers bi-encoder with its own pooling, truncating at ``max_length``."""
    model = SentenceTransformer(str(path), device=device, model_kwargs={"dtype": dtype})
    model.max_seq_length = max_length
    return model


def load_cross_encoder(path, max_length: int = 128, device: str | None = None,
                       dtype: torch.dtype = torch.float32, seed: int | None = None) -> CrossEncoder:
    """A cross-encoder with one output logit (sigmoid score).

    A bi-encoder folder (e.g. a fine-tuned retriever round) loads too: its transformer's
    weights initialise the encoder, and a fresh classification head is added, drawn from
    torch's global random state, or from ``seed`` (the same head every run; the global state
    left as it was)."""
    with logs.quiet("sentence_transformers", "transformers"), torch.random.fork_rng(enabled=seed is not None):
        if seed is not None:
            torch.manual_seed(seed)
        return CrossEncoder(str(path), num_labels=1, max_length=max_length, device=device,
                            model_kwargs={"dtype": dtype})


CPU_BF16: bool | str = "auto"
"""The bi-encoders' inference in bfloat16 on a CPU: "auto" where the CPU has bfloat16 matrix units
(:func:`bf16_native`), True always, False never (float32). Notebooks 04 and 06 set it from
their ``BF16`` (:func:`set_cpu_bf16`)."""


def bf16_native() -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (Intel AMX tiles), where torch runs a
    MiniLM several times faster in bfloat16 than in float32. Elsewhere bfloat16 is emulated,
    and slower than float32."""
    check = getattr(torch.cpu, "_is_amx_tile_supported", None)  # private; absent: not known
    try:
        return bool(check and check())
    except RuntimeError:
        return False


def set_cpu_bf16(choice: bool | str) -> bool:
    """Sets :data:`CPU_BF16` ("auto", True or False); returns whether a CPU now infers in
    bfloat16."""
    global CPU_BF16
    if choice not in ("auto", True, False):
        raise ValueError(f"BF16 must be 'auto', True or False, not {choice!r}")
    CPU_BF16 = choice
    return cpu_bf16()


def cpu_bf16() -> bool:
    """Whether inference on a CPU runs in bfloat16 (:data:`CPU_BF16`)."""
    return bf16_native() if CPU_BF16 == "auto" else bool(CPU_BF16)


def inference_dtype(device: str | None = None, int8: bool = False,
                    cpu_bf16_ok: bool = True) -> torch.dtype:
    """The weights' type for inference (embeddings and scores are returned as float32 all the
    same): float16 on a CUDA device; on a CPU float32 for ``int8`` (:func:`int8` quantises
    float32 weights), else bfloat16 if :func:`cpu_bf16` and ``cpu_bf16_ok``, else float32.
    Cross-encoders pass ``cpu_bf16_ok=False``: their tuned thresholds on probabilities were
    not checked in bfloat16 (docs/RESULTS.md checks the bi-encoder)."""
    cuda = device.startswith("cuda") if device else torch.cuda.is_available()
    if cuda:
        return torch.float16
    return torch.bfloat16 if cpu_bf16() and cpu_bf16_ok and not int8 else torch.float32


def precision_name(int8: bool = False) -> str:
    """What inference runs in here, in words (notebook 06's printout)."""
    if torch.cuda.is_available():
        return "float16 (GPU)"
    if int8:
        return "int8 (ONNX Runtime)"
    return ("bfloat16 bi-encoder" + (" (the CPU's AMX units)" if bf16_native() else
                                     " (emulated: slower)") if cpu_bf16() else "float32")


def trainer_precision(choice: str) -> dict:
    """The Trainer's mixed-precision arguments for ``choice`` ("auto", "fp32", "bf16",
    "fp16"): "auto" is bf16 where the GPU supports it, else fp16, and fp32 on a CPU; bf16 runs
    on a CPU too (the Trainer's ``use_cpu``); fp16 needs a CUDA GPU."""
    cuda = torch.cuda.is_available()
    if choice == "auto":
        if not cuda:
            return {}
        return {"bf16": True} if torch.cuda.is_bf16_supported() else {"fp16": True}
    if choice == "fp16" and not cuda:
        raise ValueError("precision 'fp16' needs a CUDA GPU; on a CPU use 'bf16' or 'fp32'")
    if choice == "bf16" and not cuda:
        return {"bf16": True, "use_cpu": True}
    return {"fp16": {"fp16": True}, "bf16": {"bf16": True}, "fp32": {}}[choice]


def int8_available() -> str | None:
    """None if :func:`int8` can run here, else why not (a package missing)."""
    import importlib.util

    missing = [name for name in INT8_PACKAGES if importlib.util.find_spec(name) is None]
    return (f"{' and '.join(missing)} not installed (pip install {' '.join(missing)}, or attach "
            f"the wheels dataset: python -m utils.kaggle.package --wheels)") if missing else None


class _Exported(torch.nn.Module):
    """The transformer as ``torch.onnx.export`` traces it: positional inputs, one output."""

    def __init__(self, model, inputs: list[str], output: str):
        super().__init__()
        self.model, self.inputs, self.output = model, inputs, output

    def forward(self, *tensors):
        return self.model(**dict(zip(self.inputs, tensors)), return_dict=True)[self.output]


class OnnxRuntimeTransformer(torch.nn.Module):
    """Stands in for a Hugging Face model inside sentence-transformers' ``Transformer``
    module: takes the tokeniser's tensors, runs an ONNX Runtime session, returns
    ``{output: tensor}`` as the model's forward would. Keeps the model's ``config``."""

    def __init__(self, session, config, inputs: list[str], output: str):
        super().__init__()
        self.session, self.config, self.inputs, self.output = session, config, inputs, output

    def forward(self, **features):
        feeds = {name: features[name].detach().cpu().numpy().astype(np.int64)
                 for name in self.inputs}
        (out,) = self.session.run([self.output], feeds)
        return {self.output: torch.from_numpy(out)}


def _fused(plain: Path, config) -> Path:
    """The exported graph with ONNX Runtime's BERT fusions (attention, embedding and skip
    layer norms, GELU) applied, or ``plain`` itself where the optimiser fails on it."""
    from onnxruntime.transformers.optimizer import optimize_model

    try:
        optimised = optimize_model(str(plain), model_type="bert", opt_level=0,
                                   num_heads=getattr(config, "num_attention_heads", 0),
                                   hidden_size=getattr(config, "hidden_size", 0))
    except Exception as error:  # an architecture the BERT fusions do not know
        log.info("int8: graph not fused (%s); quantising it as exported", error)
        return plain
    log.info("int8: fused %s", {k: v for k, v in optimised.get_fused_operator_statistics().items() if v})
    fused = plain.with_name("model.fused.onnx")
    optimised.save_model_to_file(str(fused))
    return fused


def int8(model, threads: int | None = None, fuse: bool = False):
    """``model`` (a SentenceTransformer or CrossEncoder on the CPU) with its transformer run
    by ONNX Runtime in int8: weights quantised per output channel, activations dynamically
    per batch. Changes ``model`` in place and returns it; a few seconds (export, quantise),
    or less for weights exported before (:mod:`utils.int8cache`).

    ``fuse``: before quantising, ONNX Runtime's transformer optimiser
    (``onnxruntime.transformers.optimizer``) fuses each BERT-style layer's attention, layer
    norms and GELU into single operators, which quantisation then turns into int8 attention;
    a model it cannot fuse (another architecture) is quantised as exported. Off by default:
    faster, but it agreed less with float32 on a mini-LECR fold (docs/RESULTS.md, "Speed at
    LECR scale").

    Raises ``RuntimeError`` naming the fix if onnxruntime or onnx is missing."""
    missing = int8_available()
    if missing:
        raise RuntimeError(f"int8 inference needs {missing}; or run in float32")
    import onnx
    import onnxruntime
    from onnxruntime.quantization import QuantType, quantize_dynamic

    module = model[0]
    hf, output = module.model, module.modality_config["text"]["method_output_name"]
    sample = model.tokenizer(["an example text", "two"], padding=True, return_tensors="pt")
    inputs = list(sample.keys())
    axes = {name: {0: "batch", 1: "sequence"} for name in inputs}
    axes[output] = {0: "batch", 1: "sequence"} if output == "last_hidden_state" else {0: "batch"}
    if fuse and hasattr(hf, "set_attn_implementation"):
        hf.set_attn_implementation("eager")  # the attention pattern the optimiser fuses (not SDPA's)
    hf = hf.float().eval()
    digest = int8cache.key(hf, inputs=inputs, output=output, fuse=fuse, opset=17)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads or torch.get_num_threads()

    def session_of(path):
        return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    session, cached = None, int8cache.get(digest)
    if cached is not None:
        try:
            session, how = session_of(cached), f"from the int8 cache ({cached.parent})"
        except Exception as error:  # a damaged file: export again, and replace it
            log.warning("int8 cache: %s does not load (%s); exporting again", cached, error)
    if session is None:
        with tempfile.TemporaryDirectory() as tmp:
            plain, quantised = Path(tmp) / "model.onnx", Path(tmp) / "model.int8.onnx"
            with warnings.catch_warnings(), logs.quiet("torch", "onnxruntime", ""):
                warnings.simplefilter("ignore")  # the tracer's notes on shapes taken as constants
                torch.onnx.export(_Exported(hf, inputs, output),
                                  tuple(sample[name] for name in inputs), str(plain),
                                  input_names=inputs, output_names=[output], dynamic_axes=axes,
                                  opset_version=17, dynamo=False)
                if fuse:
                    plain = _fused(plain, hf.config)
                quantize_dynamic(str(plain), str(quantised), weight_type=QuantType.QInt8,
                                 per_channel=True,  # fused operators' outputs are untyped: float
                                 extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
            session, how = session_of(quantised), "exported and quantised"
            int8cache.put(digest, quantised)
    module.model = OnnxRuntimeTransformer(session, hf.config, inputs, output)
    log.info("%s: transformer in ONNX Runtime, int8, %s", type(model).__name__, how)
    return model


def load_for_inference(path, max_length: int = 64, int8_on_cpu: bool = False) -> SentenceTransformer:
    """A bi-encoder loaded to embed with: float16 weights on a GPU, int8 on a CPU with
    ``int8_on_cpu`` (:func:`for_inference`), else :func:`inference_dtype`'s."""
    return for_inference(load_bi_encoder(path, max_length, dtype=inference_dtype(int8=int8_on_cpu)),
                         int8_on_cpu)


def for_inference(model, int8_on_cpu: bool = False):
    """``model`` as loaded for prediction (:func:`inference_dtype` already applied): on a
    CPU with ``int8_on_cpu``, run in int8 (:func:`int8`, from float32 weights); otherwise
    unchanged."""
    if int8_on_cpu and model.device.type == "cpu":
        return int8(model)
    return model
