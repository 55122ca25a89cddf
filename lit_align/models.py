"""Model specs: what a config's `model:` node builds.

A spec builds a `Policy` (causal LM + tokenizer). `HFModelSpec` covers any
Hugging Face causal LM by hub name or local directory; `TinyModelSpec` builds a
small model offline for tests and the quickstart. Both can wrap the model in a
`peft` LoRA adapter. Heavy imports happen inside `build()`, never at import time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from lit_align.config.binding import Range
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
        return hasattr(self.model, "peft_config")


def _torch_dtype(dtype: Dtype) -> Any:
    import torch

    return "auto" if dtype == "auto" else getattr(torch, dtype)


def apply_lora(model: Any, lora: LoraConfig) -> Any:
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
    return get_peft_model(model, config)


class ModelSpec:
    """Base class of `model:` components. Subclasses implement `_build_base`."""

    def __init__(self, *, lora: LoraConfig | None = None) -> None:
        self.lora = lora

    def _build_base(self) -> tuple[Any, Any]:
        raise NotImplementedError

    def build(self) -> Policy:
        model, tokenizer = self._build_base()
        if tokenizer.pad_token is None:
            # Causal LMs often ship without a pad token; padding is masked out anyway.
            tokenizer.pad_token = tokenizer.eos_token
        if self.lora is not None:
            model = apply_lora(model, self.lora)
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
    ) -> None:
        super().__init__(lora=lora)
        self.name_or_path = name_or_path
        self.tokenizer_path = tokenizer or name_or_path
        self.dtype = dtype
        self.revision = revision
        self.trust_remote_code = trust_remote_code
        self.attn_implementation = attn_implementation

    def _build_base(self) -> tuple[Any, Any]:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        kwargs: dict[str, Any] = {
            "revision": self.revision,
            "trust_remote_code": self.trust_remote_code,
        }
        try:
            tokenizer = AutoTokenizer.from_pretrained(self.tokenizer_path, **kwargs)
            extra = {"attn_implementation": self.attn_implementation} if self.attn_implementation else {}
            model = AutoModelForCausalLM.from_pretrained(
                self.name_or_path, dtype=_torch_dtype(self.dtype), **kwargs, **extra
            )
        except OSError as exc:
            where = "local directory" if Path(self.name_or_path).exists() else "hub name"
            raise ConfigError(
                f"model.init_args.name_or_path: cannot load {self.name_or_path!r} as a {where} "
                f"({str(exc).splitlines()[0]}); give a local model directory or a reachable hub id"
            ) from exc
        return model, tokenizer


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
    ) -> None:
        super().__init__(lora=lora)
        if d_model % n_head:
            raise ConfigError(
                f"model.init_args.d_model ({d_model}) must be divisible by n_head ({n_head})"
            )
        self.arch, self.n_layer, self.d_model, self.n_head = arch, n_layer, d_model, n_head
        self.vocab_size, self.max_positions = vocab_size, max_positions
        self.corpus, self.seed = corpus, seed

    def _corpus_lines(self) -> list[str] | None:
        if self.corpus is None:
            return None
        path = Path(self.corpus)
        if not path.is_file():
            raise ConfigError(f"model.init_args.corpus: file not found: {self.corpus}")
        return [line for line in path.read_text().splitlines() if line.strip()]

    def _build_base(self) -> tuple[Any, Any]:
        from lit_align.testing.tiny import build_tiny_model, build_tiny_tokenizer

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
