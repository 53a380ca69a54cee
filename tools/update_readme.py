"""Rewrite the parts of README.md that are made from other files: run ``make course-files``.

    python tools/update_readme.py           # rewrite them
    python tools/update_readme.py --check   # only say whether they are stale (exit 1 if so)

- the syllabus table, between the ``<!-- syllabus:start -->`` and ``<!-- syllabus:end -->``
  lines, made from the notebooks present (``tools/course.py``);
- the ``[binder-launch]:`` link behind the Binder badge, from ``course.toml``.

Everything else in the README is written by hand. Idempotent: a second run changes nothing.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tools import course

README = course.ROOT / "README.md"
SYLLABUS = re.compile(r"(<!-- syllabus:start[^\n]*-->\n).*?(<!-- syllabus:end -->)", re.S)
BINDER_LINK = re.compile(r"^\[binder-launch\]: .*$", re.M)


def updated(text: str, repo: course.Repository) -> str:
    if not SYLLABUS.search(text) or not BINDER_LINK.search(text):
        raise SystemExit("README.md lacks the syllabus markers or the [binder-launch] link")
    chapters = course.chapters()
    table = course.syllabus_table(chapters) + f"\n\n{course.syllabus_note(chapters)}\n"
    text = SYLLABUS.sub(lambda m: m[1] + table + m[2], text)
    first = course.course_notebooks()[0].relative_to(course.ROOT).as_posix()
    return BINDER_LINK.sub(lambda _: f"[binder-launch]: {repo.binder_url(first)}", text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if stale")
    args = parser.parse_args(argv)
    before = README.read_text(encoding="utf-8")
    after = updated(before, course.repository())
    if after == before:
        return 0
    if args.check:
        print("README.md is stale: run `make course-files`")
        return 1
    README.write_text(after, encoding="utf-8")
    print("changed: README.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
