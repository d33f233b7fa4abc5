"""The templates of every generated C and assembly file, rendered with string.Template.

A template is a file here, ``<name>.in`` (``glue.c.in``, ``gather.S.in``, ...): C and assembly
as they will be written, braces and all, with ``${name}`` placeholders. Code that depends on
the policy's shapes beyond a value (the gather kernel's instruction lists, the unrolled
kernel's statements) is produced in Python as a list of lines and substituted as one
placeholder. :func:`render` refuses a missing or an unused value, so a template and its
caller cannot drift apart silently.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from string import Template

HERE = Path(__file__).resolve().parent


@cache
def template(name: str) -> Template:
    """The template ``name`` (e.g. 'glue.c'), read once from ``<name>.in``."""
    return Template((HERE / f"{name}.in").read_text())


def render(name: str, **values: object) -> str:
    """Template ``name`` with every ``${key}`` replaced by ``str(values[key])``."""
    t = template(name)
    wanted = set(t.get_identifiers())
    given = set(values)
    assert wanted == given, (f"template {name}: missing {sorted(wanted - given)}, "
                             f"unused {sorted(given - wanted)}")
    assert t.is_valid(), f"template {name}: a '$' that is not a placeholder (write '$$')"
    return t.substitute({k: str(v) for k, v in values.items()})


def names() -> tuple[str, ...]:
    """Every template's name."""
    return tuple(sorted(p.name[: -len(".in")] for p in HERE.glob("*.in")))
