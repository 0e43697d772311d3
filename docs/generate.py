"""Write docs/reference/<section>.md from the registry (`rlexp list --format markdown`).

python docs/generate.py          rewrite the pages (make docs-generate)
python docs/generate.py --check  exit 1, naming the stale pages, if a page differs

Run in a fresh process: only rlexp's built-in components are listed, never a plugin's.
"""

from __future__ import annotations

import sys
from pathlib import Path

from rlexp import registry
from rlexp.listing import SECTIONS, entries, render_markdown

REFERENCE = Path(__file__).resolve().parent / "reference"


def pages() -> dict[Path, str]:
    """Each reference page and the text it must hold."""
    registry.load_builtins()
    return {REFERENCE / f"{s}.md": render_markdown(s, entries(s)) for s in SECTIONS}


def main(argv: list[str]) -> int:
    expected = pages()
    if "--check" in argv:
        stale = [p for p, text in expected.items() if not p.is_file() or p.read_text() != text]
        for path in stale:
            print(f"{path} differs from the registry; run `make docs-generate`", file=sys.stderr)
        return 1 if stale else 0
    REFERENCE.mkdir(exist_ok=True)
    for path, text in expected.items():
        path.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
