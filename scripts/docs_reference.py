"""Rewrite the generated parts of the docs: the settings table of docs/CONFIGURATION.md (from the
declarations in streams/settings.py) and the command reference of docs/COMMANDS.md (from the parser).

Run by `make docs`; tests/unit/test_docs.py fails when either is not current.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from streams.cli.reference import markdown as commands_markdown
from streams.settings import markdown_table

DOCS = Path(__file__).resolve().parents[1] / "docs"
BEGIN, END = "<!-- generated:begin -->", "<!-- generated:end -->"


def rewrite(path: Path, generated: str) -> None:
    text = path.read_text()
    block = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.DOTALL)
    if not block.search(text):
        sys.exit(f"{path}: no {BEGIN} ... {END} block")
    path.write_text(block.sub(lambda _: f"{BEGIN}\n{generated}{END}", text))
    print(f"{path.name}: generated part rewritten", file=sys.stderr)


rewrite(DOCS / "CONFIGURATION.md", markdown_table())
rewrite(DOCS / "COMMANDS.md", commands_markdown())
