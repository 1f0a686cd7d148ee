"""The command reference (docs/COMMANDS.md), read off the parser itself, and what a test needs to hold
every documented ``integrity`` command line against the parser: which commands exist, and their flags."""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator

from streams.cli.registry import build_parser

__all__ = ["commands", "markdown"]


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    found: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found.update(action.choices)
    return found


def _walk(parser: argparse.ArgumentParser, path: tuple[str, ...]) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    for name, sub in _subcommands(parser).items():
        yield " ".join((*path, name)), sub
        yield from _walk(sub, (*path, name))


def commands() -> dict[str, set[str]]:
    """Every command line (``"gateway postman"``) and the flags it takes; ``""``: the global flags."""
    parser = build_parser()
    found = {"": {o for a in parser._actions for o in a.option_strings}}
    for path, sub in _walk(parser, ()):
        found[path] = {o for a in sub._actions for o in a.option_strings}
    return found


def _help_of(parser: argparse.ArgumentParser, name: str) -> str:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                if choice.dest == name:
                    return choice.help or ""
    return ""


def _usage(sub: argparse.ArgumentParser) -> str:
    usage = re.sub(r"\s+", " ", sub.format_usage().removeprefix("usage: ").strip())
    return usage.replace("[-h] ", "").replace(" [-h]", "")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown() -> str:
    """docs/COMMANDS.md's generated part: each command's usage, what it does, and its flags."""
    parser = build_parser()
    lines = []
    for path, sub in _walk(parser, ()):
        *parents, name = path.split()
        owner = parser
        for parent in parents:
            owner = _subcommands(owner)[parent]
        lines += [
            f"### `integrity {path}`",
            "",
            _help_of(owner, name).rstrip(".") + ".",
            "",
            "```",
            _usage(sub),
            "```",
            "",
        ]
        flags = [a for a in sub._actions if a.option_strings and "-h" not in a.option_strings]
        if flags:
            lines += ["| flag | meaning |", "|---|---|"]
            for action in flags:
                names = ", ".join(f"`{o}`" for o in action.option_strings)
                meaning = (action.help or "").replace("%(default)s", str(action.default))
                lines.append(f"| {names} | {_cell(meaning)} |")
            lines.append("")
    return "\n".join(lines)
