"""The docs hold to the code: the generated parts are current, every documented ``integrity`` command
line names a real command with flags it takes, every environment variable named is declared, and every
relative link leads to a file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from streams.cli.reference import commands
from streams.cli.reference import markdown as commands_markdown
from streams.settings import REMOVED, declared, markdown_table

ROOT = Path(__file__).resolve().parents[2]
_TOP = ["README.md", "SECURITY.md", "CHANGELOG.md", "clients/js/README.md"]
DOCS = sorted([*(ROOT / name for name in _TOP), *(ROOT / "docs").glob("*.md")])
GENERATED = re.compile(r"<!-- generated:begin -->\n(.*?)<!-- generated:end -->", re.DOTALL)
# Variables of the apache/kafka image, set in docker-compose.yml, not ours.
COMPOSE = (ROOT / "docker-compose.yml").read_text()


def _ids(paths: list[Path]) -> list[str]:
    return [str(path.relative_to(ROOT)) for path in paths]


def _generated(name: str) -> str:
    block = GENERATED.search((ROOT / "docs" / name).read_text())
    assert block is not None, f"docs/{name} has no generated block"
    return block.group(1)


def test_the_settings_table_is_generated_from_the_declarations():
    assert _generated("CONFIGURATION.md") == markdown_table(), "docs/CONFIGURATION.md is out of date: make docs"


def test_the_command_reference_is_generated_from_the_parser():
    assert _generated("COMMANDS.md") == commands_markdown(), "docs/COMMANDS.md is out of date: make docs"


def _code(text: str) -> list[str]:
    """The lines of code in Markdown: fenced blocks (continuation lines joined) and inline code spans."""
    pieces = []
    fenced = re.compile(r"^```[^\n]*\n(.*?)^```", re.DOTALL | re.MULTILINE)
    for block in fenced.findall(text):
        pieces += re.sub(r"\\\n\s*", " ", block).splitlines()
    prose = fenced.sub("", text)
    pieces += re.findall(r"`([^`\n]+)`", prose)
    return pieces


def _command_lines(text: str) -> list[list[str]]:
    """The words after each ``integrity`` that starts a command, up to a shell separator or a comment."""
    found = []
    for line in _code(text):
        for match in re.finditer(r"(?:^|(?<=[\s/(]))integrity\s+(.*)", line):
            words = []
            for word in match.group(1).split():
                if word in {"|", "||", "&&", ";", "&", ">", "2>"} or word.startswith("#"):
                    break
                words.append(word)
            found.append(words)
    return found


KNOWN = commands()


def _check(words: list[str]) -> str | None:
    """Why these words are not a command line ``integrity`` takes; None when they are."""
    flags = [w for w in words if w.lstrip("[(").startswith("--")]
    rest = [w for w in words if w not in flags]
    if words[:1] and words[0] == "--bootstrap-servers":
        rest = rest[1:]
    if not rest or rest[0].isupper() or not re.fullmatch(r"[a-z][a-z-]*", rest[0]):
        return None  # a placeholder (`integrity COMMAND`) or not a command line at all
    path = rest[0]
    if path not in KNOWN:
        return f"no command {path!r}"
    if len(rest) > 1 and f"{path} {rest[1]}" in KNOWN:
        path = f"{path} {rest[1]}"
    taken = KNOWN[path] | KNOWN[""]
    for flag in flags:
        name = re.match(r"--[a-z][a-z-]*", flag.lstrip("[("))
        if name and name.group(0) not in taken:
            return f"integrity {path} takes no {name.group(0)}"
    return None


@pytest.mark.parametrize("doc", DOCS, ids=_ids(DOCS))
def test_every_documented_command_line_is_one_the_parser_takes(doc: Path):
    wrong = [
        f"integrity {' '.join(words)}: {why}" for words in _command_lines(doc.read_text()) if (why := _check(words))
    ]
    assert not wrong, "\n".join(wrong)


def test_the_check_of_command_lines_can_fail():
    assert _check(["worker", "--web-port", "6067"]) is None
    assert _check(["gateway", "postman", "--out", "x.json"]) is None
    assert _check(["wrker"]) == "no command 'wrker'"
    assert _check(["worker", "--threads", "2"]) == "integrity worker takes no --threads"


@pytest.mark.parametrize("doc", DOCS, ids=_ids(DOCS))
def test_every_documented_variable_is_declared(doc: Path):
    ours = {item.env for item in declared()}
    wrong = []
    for name in set(re.findall(r"\b(?:INTEGRITY|KAFKA)_[A-Z0-9_]*", doc.read_text())):
        if name in ours or name in COMPOSE:
            continue
        if name in REMOVED and doc.name in {"CHANGELOG.md", "CONFIGURATION.md"}:
            continue  # where removals are announced
        if name.endswith("_") and any(env.startswith(name) for env in ours):
            continue  # a family: KAFKA_SASL_*
        wrong.append(name)
    assert not wrong, f"{doc.name} names variables that are not settings: {sorted(wrong)}"


@pytest.mark.parametrize("doc", DOCS, ids=_ids(DOCS))
def test_every_relative_link_leads_to_a_file(doc: Path):
    links = re.findall(r"\]\(([^)\s]+)\)", doc.read_text())
    broken = [
        link
        for link in links
        if not re.match(r"[a-z]+:", link)
        and not link.startswith("#")
        and not (doc.parent / link.split("#")[0]).exists()
    ]
    assert not broken, f"{doc.name}: {broken}"
