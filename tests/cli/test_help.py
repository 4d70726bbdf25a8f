"""Every option of every `huntaze` command has help text, and its help shows the default: "(default: X)" added for
a value, or said in words where the option has no value when absent."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest

from cli.main import build_parser, main


def _commands(
    parser: argparse.ArgumentParser, name: str = "huntaze"
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield from _commands(sub, f"{name} {sub_name}")


def test_every_option_has_help_showing_its_default() -> None:
    commands = dict(_commands(build_parser()))
    assert {"huntaze seed", "huntaze keys create", "huntaze eval run", "huntaze up"} <= commands.keys()
    missing = []
    for name, parser in commands.items():
        text = " ".join(parser.format_help().split())
        for action in parser._actions:
            if not action.option_strings or isinstance(action, argparse._HelpAction):
                continue
            flag = "/".join(action.option_strings)
            if not action.help:
                missing.append(f"{name} {flag}: no help")
                continue
            if action.required or action.nargs == 0 or action.default is False:
                continue  # required, or a flag: nothing to default
            if action.default is None:
                if "default" not in action.help:
                    missing.append(
                        f"{name} {flag}: no value when absent, and the help does not say what happens"
                    )
            elif f"(default: {action.default})" not in text and "(default" not in action.help:
                missing.append(f"{name} {flag}: the default {action.default!r} is not shown")
    assert missing == [], "\n".join(missing)


def test_seed_help_shows_descriptions_and_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["seed", "--help"])
    assert done.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    for expected in ("--fans FANS fans in the business (default: 2000)", "(default: 180)", "(default: 42)"):
        assert expected in out, out
