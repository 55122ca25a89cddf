"""A tiny causal LM and byte-level BPE tokenizer, built fully offline in ~1 s.

Tests and the quickstart use these instead of hub downloads. The tokenizer has a
chat template so conversational data goes through the same path as real chat
models.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}<|end|>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
SPECIAL_TOKENS = ["<|endoftext|>", "<|pad|>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>"]

# A small built-in corpus so the tokenizer learns common English merges without files.
_BUILTIN_WORDS = (
    "the a an and or but if then else when while for to of in on at by with from about as into "
    "is are was were be been being have has had do does did can could will would should may might "
    "must shall i you he she it we they me him her us them my your his its our their this that "
    "these those what which who whom whose where why how all any both each few more most other "
    "some such no nor not only own same so than too very just answer question please list explain "
    "write short long summary summarize describe give name tell help helpful harmless polite safe "
    "rule style keyword format number numbers one two three four five six seven eight nine ten "
    "first second third red green blue yellow black white cat dog bird fish tree river mountain "
    "city country book music food water fire earth air sun moon star time day night year good bad "
    "yes okay sure thanks sorry hello world python code data model learn train test result user "
    "assistant system feedback prefer preference chosen rejected response prompt because therefore"
).split()


def builtin_corpus(repeats: int = 4) -> list[str]:
    words = _BUILTIN_WORDS
    lines = [" ".join(words[i : i + 12]) for i in range(0, len(words), 12)]
    lines += [w.capitalize() + "." for w in words]
    return lines * repeats


def build_tiny_tokenizer(corpus: Iterable[str] | None = None, vocab_size: int = 512):
    """Train a byte-level BPE tokenizer and wrap it as a transformers fast tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(corpus) if corpus is not None else builtin_corpus(), trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<|endoftext|>",
        eos_token="<|endoftext|>",
        pad_token="<|pad|>",
        unk_token=None,
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def build_tiny_model(
    *,
    vocab_size: int,
    arch: Literal["gpt2", "llama"] = "gpt2",
    n_layer: int = 2,
    d_model: int = 64,
    n_head: int = 4,
    max_positions: int = 512,
    seed: int = 0,
    pad_token_id: int | None = None,
    eos_token_id: int | None = None,
):
    """A randomly initialised GPT-2 or Llama causal LM, seeded for reproducibility."""
    import torch
    from transformers import AutoModelForCausalLM, GPT2Config, LlamaConfig

    if arch == "gpt2":
        config = GPT2Config(
            vocab_size=vocab_size,
            n_positions=max_positions,
            n_embd=d_model,
            n_layer=n_layer,
            n_head=n_head,
            resid_pdrop=0.0,
            embd_pdrop=0.0,
            attn_pdrop=0.0,
            pad_token_id=pad_token_id,
            eos_token_id=eos_token_id,
            bos_token_id=eos_token_id,
        )
    else:
        config = LlamaConfig(
            vocab_size=vocab_size,
            hidden_size=d_model,
            intermediate_size=4 * d_model,
            num_hidden_layers=n_layer,
            num_attention_heads=n_head,
            num_key_value_heads=n_head,
            max_position_embeddings=max_positions,
            pad_token_id=pad_token_id,
            eos_token_id=eos_token_id,
            bos_token_id=eos_token_id,
            tie_word_embeddings=True,
        )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return AutoModelForCausalLM.from_config(config)
