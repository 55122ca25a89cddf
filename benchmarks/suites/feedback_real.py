"""Four pieces of verbal feedback whose application a program can check on a real model's answers
(issue 20, F3r): each with a keyword test of its scope and a test of whether an answer follows it.

The scope tests are keyword heuristics (a prompt mentioning an animal is about animals); they
measure whether an LLM generator's in-scope prompts are in scope and its near-scope prompts stay
out, not a gold label. The adherence tests are exact: they are what the feedback asks for.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lit_align.errors import ConfigError
from lit_align.feedback.dataset import FeedbackGenerator, Scope
from lit_align.feedback.judges import FeedbackJudge
from lit_align.feedback.metrics import heuristic_score

# general prompts outside every feedback's scope and apart from the probe: the out-of-scope rows
GENERAL_FILE = Path(__file__).resolve().parents[1] / "data" / "feedback_real" / "general.jsonl"


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z+#]+", text.lower()))


ANIMALS = {"animal", "animals", "dog", "dogs", "cat", "cats", "bird", "birds", "horse", "horses", "fish", "lion",
           "lions", "tiger", "tigers", "elephant", "elephants", "whale", "whales", "dolphin", "dolphins", "bear",
           "bears", "wolf", "wolves", "fox", "rabbit", "rabbits", "cow", "cows", "pig", "pigs", "sheep", "goat",
           "monkey", "monkeys", "snake", "snakes", "owl", "owls", "penguin", "penguins", "shark", "sharks", "frog",
           "frogs", "insect", "insects", "bee", "bees", "ant", "ants", "pet", "pets", "puppy", "kitten", "parrot",
           "giraffe", "giraffes", "zebra", "deer", "duck", "chicken", "eagle", "eagles", "turtle", "turtles",
           "octopus", "octopuses", "foxes", "mammal", "mammals"}
COOKING = {"recipe", "recipes", "cook", "cooking", "bake", "baking", "dish", "meal", "soup", "cake", "bread",
           "pasta", "salad", "sauce", "cookies", "pie", "stew", "curry", "ingredients", "dinner", "breakfast",
           "pancakes", "omelette", "guacamole", "lemonade", "hummus", "porridge", "rice", "potatoes"}
MONEY = {"money", "invest", "investing", "investment", "budget", "budgeting", "save", "saving", "savings", "loan",
         "loans", "stock", "stocks", "tax", "taxes", "bank", "debt", "salary", "retirement", "mortgage", "credit",
         "finance", "financial", "income", "crypto", "bitcoin", "pension", "spending", "dollars", "fund", "funds"}
# not "go" or "r": common words in an answer's first sentence
LANGUAGES = ("python", "javascript", "typescript", "java", "c++", "c#", "rust", "golang", "ruby", "php",
             "swift", "kotlin", "sql", "bash", "html", "css", "scala", "haskell", "perl", "c")
PROGRAMMING = {"code", "coding", "program", "programming", "function", "functions", "bug", "debug", "variable",
               "loop", "compile", "compiler", "algorithm", "script", "api", "class", "software", "developer", "json",
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


# -- the programmatic generator: prompts from templates, revisions that apply the feedback -------------------
_IN_TOPICS = {
    "animals_exclaim": ["owls", "dolphins", "elephants", "penguins", "wolves", "bees", "horses", "octopuses",
                        "giraffes", "turtles", "eagles", "frogs", "sharks", "rabbits", "foxes", "whales"],
    "recipe_numbered": ["pancakes", "tomato soup", "banana bread", "fried rice", "guacamole", "omelette",
                        "lemonade", "pasta salad", "chocolate cookies", "vegetable curry", "hummus", "porridge",
                        "apple pie", "mashed potatoes", "garlic bread", "chicken stew"],
    "money_disclaimer": ["save for a house", "pay off credit card debt", "start investing", "plan a monthly budget",
                         "build an emergency fund", "save for retirement", "lower my taxes", "buy my first stocks",
                         "pay for college with savings", "choose a credit card", "save on groceries",
                         "negotiate my salary", "invest in index funds", "pay off a car loan",
                         "save money each month", "plan my pension"],
    "code_language": [("reverse a string", "Python"), ("read a file", "Python"), ("sort a list", "JavaScript"),
                      ("make an HTTP request", "JavaScript"), ("parse JSON", "Go"), ("write a loop", "Rust"),
                      ("define a class", "Java"), ("join two tables", "SQL"), ("check if a number is even", "Python"),
                      ("remove duplicates from a list", "Python"), ("add an item to an array", "JavaScript"),
                      ("format a date", "JavaScript"), ("count words in a string", "Rust"),
                      ("handle an error", "Kotlin"), ("write a unit test", "Java"), ("select rows by date", "SQL")],
}
_NEAR_TOPICS = {  # the same surface, where the feedback does not apply
    "animals_exclaim": ["volcanoes", "glaciers", "oak trees", "tornadoes", "deserts", "coral reefs", "rainbows",
                        "mushrooms", "comets", "rivers", "sunflowers", "caves", "tides", "earthquakes"],
    "recipe_numbered": ["pancakes", "tomato soup", "banana bread", "fried rice", "guacamole", "omelette",
                        "lemonade", "hummus", "porridge", "curry", "apple pie", "garlic bread"],
    "money_disclaimer": ["organise my closet", "plan a garden", "learn a language", "train for a marathon",
                         "sleep better", "study for exams", "make new friends", "keep a journal",
                         "cook for a week", "learn to swim", "clean my kitchen", "fix a bike tyre",
                         "write a CV", "paint a room", "grow tomatoes", "meditate"],
    "code_language": ["reverse a word on paper", "sort a deck of cards by hand", "read a map", "join two ropes",
                      "write a haiku", "define a word", "make a paper plane", "parse a sentence", "fold a shirt",
                      "tie a knot", "sort books on a shelf", "write a thank-you note", "read a recipe",
                      "define a goal", "test a smoke alarm", "count stars at night"],
}
_IN_SHAPES = {
    "animals_exclaim": ["Tell me about {}.", "What do {} eat?", "Where do {} live?", "How long do {} live?"],
    "recipe_numbered": ["Give me a recipe for {}.", "How do I make {}?", "What is a simple recipe for {}?"],
    "money_disclaimer": ["How should I {}?", "What is the best way to {}?", "Any tips to {}?"],
    "code_language": ["How do I {} in {}?", "Show me how to {} in {}.", "What is the easiest way to {} in {}?"],
}
_NEAR_SHAPES = {
    "animals_exclaim": ["Tell me about {}.", "How do {} form?", "Where are {} found?", "Why are {} important?"],
    "recipe_numbered": ["What is the history of {}?", "Where does {} come from?", "Is {} healthy?"],
    "money_disclaimer": ["How should I {}?", "What is the best way to {}?", "Any tips to {}?"],
    "code_language": ["How do I {}?", "What is the easiest way to {}?", "Explain how to {}."],
}


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s.strip()]


def revise_to_follow(name: str, prompt: str, answer: str) -> str | None:
    """pi_0's answer changed as little as the feedback allows (None for an empty answer)."""
    text = answer.strip()
    if not text:
        return None
    if name == "animals_exclaim":
        return text.rstrip(".!?,;: ") + "!"
    if name == "recipe_numbered":
        steps = _sentences(text.replace("\n", " "))
        return "\n".join(f"{i}. {s}" for i, s in enumerate(steps, 1)) if len(steps) > 1 else f"1. {text}\n2. Serve."
    if name == "money_disclaimer":
        return f"{text}\nThis is not financial advice."
    language = next((lang for _, lang in _IN_TOPICS["code_language"] if prompt.endswith(f" in {lang}?")
                     or prompt.endswith(f" in {lang}.")), "the language you named")
    return f"In {language}: {text}"


class RealFeedbackGenerator(FeedbackGenerator):
    """The four feedbacks' data by `class_path: benchmarks.suites.feedback_real.RealFeedbackGenerator`:
    template prompts, and revisions that apply the feedback to pi_0's own answer (issue 20's
    programmatic reviser, checkable by construction)."""

    def __init__(self, *, name: str) -> None:
        super().__init__()
        if name not in _IN_TOPICS:
            raise ConfigError(f"name: unknown feedback {name!r}; choose one of {', '.join(_IN_TOPICS)}")
        self.name = name

    def prompts(self, feedback: str, scope: Scope, n: int, seed: int) -> list[str]:
        topics, shapes = (_IN_TOPICS, _IN_SHAPES) if scope == "in" else (_NEAR_TOPICS, _NEAR_SHAPES)
        every = [shape.format(*(t if isinstance(t, tuple) else (t,))) for t in topics[self.name]
                 for shape in shapes[self.name]]
        random.Random(f"{self.name}-{scope}-{seed}").shuffle(every)
        return every[:n]

    def revise(self, feedback: str, prompts: list[str], answers: list[str]) -> list[str | None]:
        return [revise_to_follow(self.name, p, a) for p, a in zip(prompts, answers, strict=True)]


class RealFeedbackJudge(FeedbackJudge):
    """The paper's heuristic score with the feedback's exact adherence test: +1 when the adapted answer
    follows it and pi_0's did not, -1 the other way, 0 otherwise (`class_path:
    benchmarks.suites.feedback_real.RealFeedbackJudge`)."""

    def __init__(self, *, name: str) -> None:
        found = [f for f in FEEDBACKS if f.name == name]
        if not found:
            raise ConfigError(f"name: unknown feedback {name!r}; choose one of {', '.join(f.name for f in FEEDBACKS)}")
        self.item = found[0]

    def score(self, feedback: str, prompts: list[str], answers: list[str], baselines: list[str]
              ) -> list[float | None]:
        return [float(heuristic_score(self.item.follows(a), self.item.follows(b)))
                for a, b in zip(answers, baselines, strict=True)]


# -- the real C3PO study's configs (benchmarks/c3po_real.py, benchmarks/c3po_compose_real.py) ------------------
REPO = Path(__file__).resolve().parents[2]
GGUF = {"class_path": "gguf", "init_args": {"gguf": "smollm2-135m-instruct"}}
BUILD_TOKENS = 48  # pi_0's answers in the data; the evaluation budget (--eval-tokens) must fit a revision
WORK = REPO / "benchmarks" / ".cache" / "c3po_real"


def feedback_config(name: str, seed: int, work: Path, n: int) -> dict[str, Any]:
    feedback = next(f.feedback for f in FEEDBACKS if f.name == name)
    return {"feedback": feedback, "seed": seed, "chat_template": True, "model": GGUF, "output_dir": str(work / "data"),
            "generator": {"class_path": "benchmarks.suites.feedback_real.RealFeedbackGenerator",
                          "init_args": {"name": name}},
            "judge": {"class_path": "benchmarks.suites.feedback_real.RealFeedbackJudge", "init_args": {"name": name}},
            "out_of_scope": {"path": "json", "data_files": str(GENERAL_FILE)},
            "n_in": n, "n_near": n, "n_out": n, "test_fraction": 1 / 3,
            "sampling": {"max_new_tokens": BUILD_TOKENS, "temperature": 0.0, "batch_size": 16}}


def evaluation_config(raw: dict[str, Any], tokens: int) -> dict[str, Any]:
    """The build's config with a larger answer budget: a revision is pi_0's (cut) answer plus the
    feedback's change, so an adapted model needs room beyond BUILD_TOKENS to show it."""
    return raw | {"sampling": raw["sampling"] | {"max_new_tokens": tokens}}
