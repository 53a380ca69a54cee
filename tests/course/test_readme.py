"""The README's example must run and print what the README says it prints."""

import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_example_prints_what_it_promises():
    block = re.search(r"```python\n(.*?)```", README.read_text(), re.DOTALL).group(1)
    promised = [line[2:] for line in block.splitlines() if line.startswith("# ")]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(block, "README.md", "exec"), {})
    assert printed.getvalue().splitlines() == promised
    assert len(promised) == 2


def test_the_readme_names_the_two_commands():
    text = README.read_text()
    assert "`make lab`" in text and "`make test`" in text
