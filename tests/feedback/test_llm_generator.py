"""LLMFeedbackGenerator over the stub OpenAI-compatible server: the paper's recipe, bad replies counted."""

import pytest

from lit_align.binding import ComponentSpec
from lit_align.errors import ConfigError
from lit_align.feedback.dataset import pack_feedback_rows
from lit_align.feedback.llm_generator import LLMFeedbackGenerator
from lit_align.feedback.templates import GeneratorOutputError
from tests.feedback import stub_server

FEEDBACK = "When you talk about an animal, end with an exclamation mark."


def generator(url, **kwargs):
    """The stub writes prompts and, unless another reviser is given, revisions too."""
    spec = ComponentSpec("openai_chat", {"base_url": url, "model": "stub", "backoff_seconds": 0.0, "retries": 0})
    return LLMFeedbackGenerator(backend=spec, num_categories=2, **({"reviser": spec} | kwargs))


def test_prompts_come_per_category_deduplicated(stub):
    state, url = stub
    gen = generator(url)
    assert gen.categories(FEEDBACK, seed=0) == ["animals", "pets"]
    prompts = gen.prompts(FEEDBACK, "in", 4, seed=0)
    assert prompts == ["Tell me about the cat.", "Describe the cat.", "Tell me about the dog.", "Describe the dog."]
    assert gen.dropped == {"duplicate_in_scope_prompt": 2}  # the cat prompt once per reply
    near = gen.prompts(FEEDBACK, "near", 10, seed=0)
    assert near == ["Tell me about the tree.", "Describe the river.", "Tell me about the book."]
    # one category call per feedback; two prompts asked per category (ceil(4 / 2))
    asks = [r["messages"][0]["content"] for r in state.requests]
    assert sum("categories of user requests" in a for a in asks) == 1
    assert "Write 2 different" in asks[1] and f'"{FEEDBACK}"' in asks[1]


def test_a_malformed_category_reply_stops_the_build_with_the_reply_shown(stub):
    state, url = stub
    state.malformed.add("categories")
    with pytest.raises(GeneratorOutputError, match=r"category list .* unusable.*sure!"):
        generator(url).prompts(FEEDBACK, "in", 4, seed=0)


def test_a_malformed_prompt_list_is_counted_and_the_rest_kept(stub):
    state, url = stub
    state.malformed.add("in")
    gen = generator(url)
    assert len(gen.prompts(FEEDBACK, "in", 4, seed=0)) == 2
    assert gen.dropped["malformed_in_scope_list"] == 1


def test_revisions_are_cleaned_and_empty_ones_counted(stub):
    state, url = stub
    gen = generator(url)
    in_scope = [("Tell me about the cat.", "The cat is nice."), ("Describe the dog.", "A dog.")]
    out = [("Name two colors.", "red, blue.")] * 2
    rows, dropped = pack_feedback_rows(gen, FEEDBACK, in_scope, [("Describe the river.", "Water.")] * 2, out)
    assert [r["chosen"] for r in rows] == ["The cat is nice!", "A dog!"]
    assert [r["rejected"] for r in rows] == ["The cat is nice.", "A dog."]
    assert not dropped
    state.malformed.add("revise")
    with pytest.raises(Exception, match="no complete rows.*cannot_revise"):
        pack_feedback_rows(gen, FEEDBACK, in_scope, in_scope, out)


def test_a_separate_reviser_backend_does_the_rewrites(stub):
    state, url = stub
    server2, state2, url2 = stub_server.start()
    try:
        spec = ComponentSpec("openai_chat", {"base_url": url2, "model": "pi0", "backoff_seconds": 0.0})
        gen = generator(url, reviser=spec)
        assert gen.revise(FEEDBACK, ["p"], ["An answer."]) == ["An answer!"]
        assert not state.requests and state2.requests[0]["model"] == "pi0"
    finally:
        server2.shutdown()


def test_given_categories_skip_the_category_call(stub):
    state, url = stub
    state.malformed.add("categories")  # would stop the build if it were asked
    gen = generator(url, categories=["farm animals", " ", "pets"])
    assert gen.categories(FEEDBACK, seed=0) == ["farm animals", "pets"]
    gen.prompts(FEEDBACK, "in", 4, seed=0)
    asks = [r["messages"][0]["content"] for r in state.requests]
    assert not any("categories of user requests" in a for a in asks)
    assert sum("Category of requests: farm animals" in a for a in asks) == 1
    with pytest.raises(ConfigError, match="categories: empty"):
        generator(url, categories=["  "])
