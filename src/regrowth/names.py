"""Names a user types on the command line: one rule for every command.

A name given for a table (``regrowth show``, ``regrowth replicate --only``) or a curve
(``regrowth curve --id``) is resolved by :func:`resolve`:

1. the exact id, if it is one;
2. else the one id that starts with it (``table1`` -> ``table1_innovation``); case is
   ignored when comparing;
3. a name that starts several ids is ambiguous and refused, naming them;
4. a name that starts none is refused, with the closest id ("did you mean") and the list of
   valid ids.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from regrowth.errors import RegrowthError

__all__ = ["resolve", "resolve_all"]


def _closest(word: str, candidates: list[str], cutoff: float = 0.6) -> str:
    """`` (did you mean 'x'?)`` for the candidate most like ``word``, whole or as a prefix of
    the same length (``tabel2`` -> ``table2_growth``), or ``""`` below ``cutoff``."""
    word = word.casefold()
    best, score = None, cutoff
    for c in candidates:
        key = c.casefold()
        s = max(difflib.SequenceMatcher(None, word, key).ratio(),
                difflib.SequenceMatcher(None, word, key[:len(word)]).ratio())
        if s > score or (s == score and best is None):
            best, score = c, s
    return f" (did you mean {best!r}?)" if best is not None else ""


def resolve(name: str, known: Iterable[str], *, what: str = "table", option: str = "",
            where: str = "", error: type[RegrowthError] = RegrowthError) -> str:
    """The id of ``known`` that ``name`` denotes by the module's rule; raises ``error``
    (naming ``option`` -- e.g. ``"--only"`` -- ``what`` and ``where`` the ids come from)
    when it denotes none or several."""
    known = list(dict.fromkeys(str(k) for k in known))
    name = str(name)
    if name in known:
        return name
    matches = [k for k in known if k.casefold().startswith(name.casefold())] if name else []
    if len(matches) == 1:
        return matches[0]
    lead = f"{option} {name!r}" if option else repr(name)
    place = f" in {where}" if where else ""
    if matches:
        raise error(f"{lead} is ambiguous: it starts {len(matches)} {what} ids{place} "
                    f"({', '.join(matches)}); give more of the name")
    raise error(f"{lead}: no such {what}{place}{_closest(name, known)}; valid {what} ids: "
                + (", ".join(known) if known else "none"))


def resolve_all(names: Iterable[str] | None, known: Iterable[str], **kw) -> list[str] | None:
    """:func:`resolve` for each of ``names`` (order kept, duplicates dropped); None stays
    None."""
    if names is None:
        return None
    known = list(known)
    return list(dict.fromkeys(resolve(n, known, **kw) for n in names))
