"""Examples in docstrings are course material too: they must run as written."""

import doctest

import pytest

from jobqueue_lab import pool


@pytest.mark.parametrize("module", [pool])
def test_docstring_examples_run(module):
    result = doctest.testmod(module)
    assert result.attempted > 0
    assert result.failed == 0
