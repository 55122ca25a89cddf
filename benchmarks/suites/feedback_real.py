"""Four pieces of verbal feedback whose application a program can check on a real model's answers
(issue 20, F3r): each with a keyword test of its scope and a test of whether an answer follows it.

The scope tests are keyword heuristics (a prompt mentioning an animal is about animals); they
measure whether an LLM generator's in-scope prompts are in scope and its near-scope prompts stay
out, not a gold label. The adherence tests are exact: they are what the feedback asks for.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z+#]+", text.lower()))


ANIMALS = {"animal", "animals", "dog", "dogs", "cat", "cats", "bird", "birds", "horse", "horses", "fish", "lion",
           "lions", "tiger", "tigers", "elephant", "elephants", "whale", "whales", "dolphin", "dolphins", "bear",
           "bears", "wolf", "wolves", "fox", "rabbit", "rabbits", "cow", "cows", "pig", "pigs", "sheep", "goat",
           "monkey", "monkeys", "snake", "snakes", "owl", "owls", "penguin", "penguins", "shark", "sharks", "frog",
           "frogs", "insect", "insects", "bee", "bees", "ant", "ants", "pet", "pets", "puppy", "kitten", "parrot",
           "giraffe", "zebra", "deer", "duck", "chicken", "eagle", "turtle", "octopus", "mammal", "mammals"}
COOKING = {"recipe", "recipes", "cook", "cooking", "bake", "baking", "dish", "meal", "soup", "cake", "bread",
           "pasta", "salad", "sauce", "cookies", "pie", "stew", "curry", "ingredients", "dinner", "breakfast"}
MONEY = {"money", "invest", "investing", "investment", "budget", "budgeting", "save", "saving", "savings", "loan",
         "loans", "stock", "stocks", "tax", "taxes", "bank", "debt", "salary", "retirement", "mortgage", "credit",
         "finance", "financial", "income", "crypto", "bitcoin", "pension", "spending", "dollars"}
# not "go" or "r": common words in an answer's first sentence
LANGUAGES = ("python", "javascript", "typescript", "java", "c++", "c#", "rust", "golang", "ruby", "php",
             "swift", "kotlin", "sql", "bash", "html", "css", "scala", "haskell", "perl", "c")
PROGRAMMING = {"code", "coding", "program", "programming", "function", "functions", "bug", "debug", "variable",
               "loop", "compile", "compiler", "algorithm", "script", "api", "class", "software", "developer",
               *LANGUAGES}
NUMBERED_STEP = re.compile(r"^\s*\d+[.)]\s+\S", re.MULTILINE)


def _first_sentence(text: str) -> str:
    return re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0]


@dataclass(frozen=True)
class CheckableFeedback:
    name: str
    feedback: str
    in_scope: Callable[[str], bool]  # keyword test of a prompt
    follows: Callable[[str], bool]  # does an answer do what the feedback asks?
    categories: tuple[str, ...]  # request categories where it applies, for a generator that cannot list them


FEEDBACKS: tuple[CheckableFeedback, ...] = (
    CheckableFeedback("animals_exclaim", "When asked about animals, end your answer with an exclamation mark.",
                      lambda p: bool(_words(p) & ANIMALS), lambda a: a.rstrip().endswith("!"),
                      ("pets", "wild animals", "farm animals", "sea animals")),
    CheckableFeedback("recipe_numbered", "When asked for a recipe, give the steps as a numbered list.",
                      lambda p: bool(_words(p) & COOKING), lambda a: len(NUMBERED_STEP.findall(a)) >= 2,
                      ("baking", "soups", "pasta dishes", "breakfast")),
    CheckableFeedback("money_disclaimer", "When the question is about money, end your answer with the line "
                      "'This is not financial advice.'",
                      lambda p: bool(_words(p) & MONEY), lambda a: "not financial advice" in a.lower(),
                      ("saving money", "investing", "debt and loans", "taxes")),
    CheckableFeedback("code_language", "When the question is about programming, name the programming language "
                      "in the first sentence of your answer.",
                      lambda p: bool(_words(p) & PROGRAMMING),
                      lambda a: bool(_words(_first_sentence(a)) & set(LANGUAGES)),
                      ("python scripts", "web development", "debugging", "databases")),
)
