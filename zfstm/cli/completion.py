"""Shell completion for bash and zsh, generated from zfstm's argparse definitions. Pure: a parser in, text out.

:func:`walk` turns the parser into a flat list of commands (``zfstm``, ``zfstm check``, ``zfstm service install``)
with their options, choices and subcommands; the man page (:mod:`zfstm.cli.manpage`) reads the same list. The
scripts complete verbs, options, the choices of options and positionals, and file names after options that take a
file. They are shipped in the wheel (``zfstm service print bash-completion``) and installed by
``zfstm service install``.
"""

from __future__ import annotations

import argparse

import attrs


@attrs.frozen
class Option:
    flags: tuple[str, ...]
    help: str
    metavar: str | None  # None: a flag that takes no value
    choices: tuple[str, ...] = ()


@attrs.frozen
class Positional:
    name: str
    help: str
    choices: tuple[str, ...] = ()
    many: bool = False


@attrs.frozen
class Command:
    """One command line prefix, e.g. ``("zfstm", "service", "install")``."""

    path: tuple[str, ...]
    help: str
    description: str
    options: tuple[Option, ...]
    positionals: tuple[Positional, ...]
    subcommands: tuple[tuple[str, str], ...]  # (name, one-line help)

    @property
    def name(self) -> str:
        return " ".join(self.path)


def _help(action: argparse.Action, prog: str) -> str:
    text = action.help or ""
    if text == argparse.SUPPRESS:
        return ""
    try:
        return " ".join((text % {**vars(action), "prog": prog}).split())
    except (KeyError, TypeError, ValueError):
        return " ".join(text.split())


def _metavar(action: argparse.Action) -> str:
    if isinstance(action.metavar, str):
        return action.metavar
    return action.dest.upper()


def walk(parser: argparse.ArgumentParser, path: tuple[str, ...] = ("zfstm",), help_text: str = "") -> list[Command]:
    """This command and, depth first, every subcommand below it."""
    options: list[Option] = []
    positionals: list[Positional] = []
    subcommands: list[tuple[str, str]] = []
    below: list[Command] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help or "" for choice in action._choices_actions}
            for name, sub in action.choices.items():
                subcommands.append((name, helps.get(name, "")))
                below.extend(walk(sub, (*path, name), helps.get(name, "")))
        elif action.option_strings:
            if action.help == argparse.SUPPRESS:
                continue
            takes_value = action.nargs != 0
            choices = tuple(str(c) for c in action.choices) if action.choices else ()
            options.append(
                Option(
                    tuple(action.option_strings),
                    _help(action, parser.prog),
                    _metavar(action) if takes_value else None,
                    choices,
                )
            )
        else:
            choices = tuple(str(c) for c in action.choices) if action.choices else ()
            positionals.append(
                Positional(_metavar(action), _help(action, parser.prog), choices, action.nargs in ("*", "+"))
            )
    command = Command(
        path=path,
        help=help_text,
        description=parser.description or "",
        options=tuple(options),
        positionals=tuple(positionals),
        subcommands=tuple(subcommands),
    )
    return [command, *below]


#: An option whose value's name contains one of these takes a file name (completed as such); others get none.
FILE_WORDS = ("FILE", "PATH", "DIR", "CONF")


def _file_like(option: Option) -> bool:
    return option.metavar is not None and any(word in option.metavar for word in FILE_WORDS)


def _words(command: Command) -> list[str]:
    words = [name for name, _ in command.subcommands]
    for positional in command.positionals:
        words.extend(positional.choices)
    for option in command.options:
        words.extend(option.flags)
    return words


def _sh_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


HEADER = "generated from zfstm's argument parser by zfstm.cli.completion; do not edit (see zfstm.service.shipped)"


def bash_completion(parser: argparse.ArgumentParser) -> str:
    commands = walk(parser)
    lines = [
        f"# bash completion for zfstm, {HEADER}",
        "_zfstm() {",
        "    local cur prev cmd i",
        '    cur="${COMP_WORDS[COMP_CWORD]}"',
        '    prev="${COMP_WORDS[COMP_CWORD-1]}"',
        "    cmd=zfstm",
        "    for ((i = 1; i < COMP_CWORD; i++)); do",
        '        case "$cmd ${COMP_WORDS[i]}" in',
    ]
    nested = [c.name for c in commands if len(c.path) > 1]
    if nested:
        lines.append("            " + "|".join(f'"{name}"' for name in nested) + ') cmd="$cmd ${COMP_WORDS[i]}" ;;')
    lines += ["        esac", "    done", '    case "$cmd:$prev" in']
    for command in commands:
        for option in command.options:
            if option.metavar is None:
                continue
            keys = "|".join(f'"{command.name}:{flag}"' for flag in option.flags)
            if option.choices:
                reply = f'COMPREPLY=($(compgen -W {_sh_quote(" ".join(option.choices))} -- "$cur"))'
            elif _file_like(option):
                reply = 'COMPREPLY=($(compgen -f -- "$cur"))'
            else:
                reply = "COMPREPLY=()"
            lines.append(f"        {keys}) {reply}; return ;;")
    lines += ["    esac", '    case "$cmd" in']
    for command in commands:
        lines.append(
            f'        "{command.name}") COMPREPLY=($(compgen -W {_sh_quote(" ".join(_words(command)))} -- "$cur")) ;;'
        )
    lines += ["    esac", "}", "complete -o default -F _zfstm zfstm", ""]
    return "\n".join(lines)


def _zsh_item(word: str, description: str) -> str:
    escaped = word.replace(":", "\\:")
    return _sh_quote(f"{escaped}:{' '.join(description.split())}" if description else escaped)


def zsh_completion(parser: argparse.ArgumentParser) -> str:
    commands = walk(parser)
    lines = [
        "#compdef zfstm",
        f"# zsh completion for zfstm, {HEADER}",
        "local cmd=zfstm prev=${words[CURRENT-1]} i",
        "local -a items",
        "for ((i = 2; i < CURRENT; i++)); do",
        '    case "$cmd ${words[i]}" in',
    ]
    nested = [c.name for c in commands if len(c.path) > 1]
    if nested:
        lines.append("        " + "|".join(f'"{name}"' for name in nested) + ') cmd="$cmd ${words[i]}" ;;')
    lines += ["    esac", "done", 'case "$cmd:$prev" in']
    for command in commands:
        for option in command.options:
            if option.metavar is None:
                continue
            keys = "|".join(f'"{command.name}:{flag}"' for flag in option.flags)
            if option.choices:
                reply = "compadd -- " + " ".join(_sh_quote(choice) for choice in option.choices)
            elif _file_like(option):
                reply = "_files"
            else:
                reply = f"_message {_sh_quote(option.metavar)}"
            lines.append(f"    {keys}) {reply}; return ;;")
    lines += ["esac", 'case "$cmd" in']
    for command in commands:
        items = [_zsh_item(name, help_text) for name, help_text in command.subcommands]
        for positional in command.positionals:
            items.extend(_zsh_item(choice, positional.name) for choice in positional.choices)
        for option in command.options:
            items.extend(_zsh_item(flag, option.help) for flag in option.flags)
        lines.append(f'    "{command.name}") items=({" ".join(items)}) ;;')
    lines += ["esac", "_describe -t commands zfstm items", ""]
    return "\n".join(lines)
