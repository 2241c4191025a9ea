"""The code colours as CSS: swatches and the highlights the coding page paints.

Pure: the colours come in as (code id, colour) pairs. A colour that is not a plain hex colour
(the model only stores those) is left out rather than written into a stylesheet.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_HEX = re.compile(r"#[0-9a-fA-F]{6}")


def codebook_stylesheet(colours: Iterable[tuple[int, str]]) -> str:
    rules = []
    for pk, colour in colours:
        if not _HEX.fullmatch(colour or "") or not isinstance(pk, int):
            continue
        mix = f"color-mix(in srgb, {colour} 55%, transparent)"
        rules.append(
            f".code-{pk} {{ --code-colour: {colour}; }}\n"
            f"::highlight(c{pk}-for) {{ background-color: {mix}; "
            "text-decoration: underline solid #1d2433 2px; }\n"
            f"::highlight(c{pk}-against) {{ background-color: {mix}; "
            "text-decoration: underline dashed #a3262a 2px; }\n"
        )
    return "".join(rules)
