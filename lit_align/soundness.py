"""Whether a generated answer is language at all, asked before any rule judges it.

Rules that read form ("ends with !", "starts plainly", "at most 4 words") credit degenerate text:
"Penguins! They! They! They!" ends with "!", "owls roomsnackfootedfleaannawawawa" is brief. A
collapsed model must never score as following a rule, so every generated-answer score is also
reported on sound answers only, with the sound rate beside it.

An answer is unsound when any check below fires; each is a cheap text test chosen to catch what
collapsed models write (repetition loops, character cycles, word salad glued into one token,
mixed scripts, replacement characters from a cut multi-byte character, symbol runs) while
passing ordinary answers, lists and markdown. Thresholds are arguments: a study can set them.
Import-free (standard library only): every package may use it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import NamedTuple

_FORMATTING = set("-=_*.#~ \t\n")  # units of horizontal rules and markdown, not degeneration
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)  # runs of letters


class Soundness(NamedTuple):
    sound: bool
    reasons: tuple[str, ...]  # which checks fired, for the per-example file


def _script(ch: str) -> str:
    """The script of a letter by its Unicode name (LATIN, CYRILLIC, CJK, HIRAGANA, ...)."""
    try:
        return unicodedata.name(ch).split()[0]
    except ValueError:
        return "UNKNOWN"


@dataclass(frozen=True)
class SoundnessCheck:
    """`max_word_repeat`: the same word this many times in a row ("They! They! They!").
    `min_cycle_repeats`: a unit of 1-3 characters repeated this many times ("wawawawawawa",
    "!!!!!!"), formatting units (`-`, `=`, `*`, `.`) excepted. `max_word_length`: letters glued
    into one "word" beyond this. `max_repeated_trigram_share`: the share of word 3-grams that
    repeat an earlier one (loops), over answers of at least 8 words. `max_symbol_share`: the
    share of characters that are neither letters, digits, spaces nor punctuation (emoji runs).
    `min_minority_script_letters`: letters of a second script that make an answer mixed."""

    max_word_repeat: int = 3
    min_cycle_repeats: int = 6
    max_word_length: int = 24
    max_repeated_trigram_share: float = 0.3
    max_symbol_share: float = 0.3
    min_minority_script_letters: int = 2

    def check(self, text: str) -> Soundness:
        reasons = []
        stripped = text.strip()
        if not stripped:
            return Soundness(False, ("empty",))
        if "\ufffd" in stripped:
            reasons.append("replacement character")
        words = [w.lower() for w in _WORD.findall(stripped)]
        if _longest_run(words) >= self.max_word_repeat:
            reasons.append("word repeated")
        if self._has_cycle(stripped):
            reasons.append("character cycle")
        if any(len(w) > self.max_word_length for w in words):
            reasons.append("overlong word")
        if _repeated_trigram_share(words) > self.max_repeated_trigram_share:
            reasons.append("repeated phrases")
        if _symbol_share(stripped) > self.max_symbol_share:
            reasons.append("symbols")
        if self._mixed_scripts(stripped):
            reasons.append("mixed scripts")
        return Soundness(not reasons, tuple(reasons))

    def is_sound(self, text: str) -> bool:
        return self.check(text).sound

    def _has_cycle(self, text: str) -> bool:
        repeats = self.min_cycle_repeats - 1
        pattern = re.compile(r"(.{1,3}?)\1{" + str(repeats) + ",}", re.DOTALL)
        return any(not set(m.group(1)) <= _FORMATTING for m in pattern.finditer(text))

    def _mixed_scripts(self, text: str) -> bool:
        counts: dict[str, int] = {}
        for ch in text:
            if ch.isalpha():
                counts[_script(ch)] = counts.get(_script(ch), 0) + 1
        if len(counts) < 2:
            return False
        return sorted(counts.values())[-2] >= self.min_minority_script_letters


def _longest_run(words: list[str]) -> int:
    longest = run = 0
    for i, word in enumerate(words):
        run = run + 1 if i and word == words[i - 1] else 1
        longest = max(longest, run)
    return longest


def _repeated_trigram_share(words: list[str]) -> float:
    if len(words) < 8:
        return 0.0
    seen: set[tuple[str, ...]] = set()
    repeats = 0
    trigrams = [tuple(words[i:i + 3]) for i in range(len(words) - 2)]
    for gram in trigrams:
        repeats += gram in seen
        seen.add(gram)
    return repeats / len(trigrams)


def _symbol_share(text: str) -> float:
    """Characters in Unicode's symbol and other categories (emoji, box drawing, control)."""
    visible = [ch for ch in text if not ch.isspace()]
    symbols = [ch for ch in visible if unicodedata.category(ch)[0] in ("S", "C")]
    return len(symbols) / len(visible) if visible else 0.0


def sound_rate(flags: list[bool]) -> float:
    return sum(flags) / len(flags) if flags else float("nan")
