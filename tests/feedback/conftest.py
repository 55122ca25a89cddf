"""The stub OpenAI-compatible server, started per test."""

import pytest

from tests.feedback import stub_server


@pytest.fixture
def stub():
    """(state, base_url) of a fresh stub server on 127.0.0.1."""
    server, state, url = stub_server.start()
    yield state, url
    server.shutdown()
