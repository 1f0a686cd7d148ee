"""Rewrite the README's configuration table from the declarations in streams/settings.py.

Run by `make readme`; tests/unit/test_settings.py fails when the README is not current.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from streams.settings import markdown_table

BEGIN, END = "<!-- settings:begin -->", "<!-- settings:end -->"

readme = Path(__file__).resolve().parents[1] / "README.md"
text = readme.read_text()
block = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.DOTALL)
if not block.search(text):
    sys.exit(f"{readme}: no {BEGIN} ... {END} block")
readme.write_text(block.sub(lambda _: f"{BEGIN}\n{markdown_table()}{END}", text))
print(f"{readme.name}: configuration table rewritten", file=sys.stderr)
