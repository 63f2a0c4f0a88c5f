"""File names from names a user controls (study, phase, experiment, class, run names).

A name becomes part of a path only through `slug`, which keeps it inside the folder it is joined
to: no separators, no `..`, no characters a file system or a shell treats specially.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

MAX_LENGTH = 80


def slug(name: object) -> str:
    """Letters, digits, '-', '_' and inner '.' of `name` (accents dropped, the rest as '_'); a name
    that had to change gets a short hash of the original, so two names never share a slug."""
    text = str(name)
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", ascii_text).strip("._-")[:MAX_LENGTH]
    if cleaned == text and cleaned:
        return cleaned
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
    return f"{cleaned}_{digest}" if cleaned else digest
