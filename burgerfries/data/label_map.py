"""`label_map.pbtxt` in the OD API's text format (ids are 1-based; 0 is the background slot)."""

from __future__ import annotations

import re
from pathlib import Path


def write_label_map(path: Path, classes: list[str]) -> None:
    lines = []
    for index, name in enumerate(classes, start=1):
        escaped = name.replace("\\", "\\\\").replace("'", "\\'")
        lines.append(f"item {{\n  id: {index}\n  name: '{escaped}'\n}}\n")
    path.write_text("".join(lines), encoding="utf-8")


_ITEM = re.compile(r"item\s*\{(.*?)\}", re.S)
_ID = re.compile(r"\bid\s*:\s*(\d+)")
_NAME = re.compile(r"\b(?:display_)?name\s*:\s*(['\"])((?:\\.|(?!\1).)*)\1")


def read_label_map(path: Path) -> dict[int, str]:
    """id → name; raises ValueError naming the file when an item lacks an id or a name."""
    text = Path(path).read_text(encoding="utf-8")
    mapping: dict[int, str] = {}
    for index, match in enumerate(_ITEM.finditer(text)):
        body = match.group(1)
        id_match, name_match = _ID.search(body), _NAME.search(body)
        if not id_match or not name_match:
            raise ValueError(f"{path}: item #{index} needs both an id and a name")
        mapping[int(id_match.group(1))] = re.sub(r"\\(.)", r"\1", name_match.group(2))
    if not mapping:
        raise ValueError(f"{path}: no `item {{ id: … name: … }}` entries")
    return dict(sorted(mapping.items()))
