"""The documentation's reference pages are the registry's, so they cannot drift from it; every
page has one title, and its Python snippets define the names they use."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_reference_pages_equal_freshly_generated_ones():
    # A fresh process: only rlexp's built-in components (plugins of other tests stay out).
    result = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "generate.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"{result.stderr}\nrun `make docs-generate` and commit"


def test_every_reference_page_is_in_the_nav():
    from rlexp.listing import SECTIONS

    nav = (ROOT / "mkdocs.yml").read_text()
    for section in SECTIONS:
        assert f"reference/{section}.md" in nav, section


def test_a_stale_page_is_caught(tmp_path, monkeypatch):
    sys.path.insert(0, str(ROOT / "docs"))
    try:
        import generate
    finally:
        sys.path.remove(str(ROOT / "docs"))
    page = tmp_path / "env.md"
    monkeypatch.setattr(generate, "pages", lambda: {page: "# env\n"})
    page.write_text("# env (edited by hand)\n")
    assert generate.main(["--check"]) == 1
    assert generate.main([]) == 0 and page.read_text() == "# env\n"
    assert generate.main(["--check"]) == 0


def test_readme_is_short_and_its_pictures_exist():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 250
    for picture in ("docs/img/tensorboard_hparams.png", "docs/img/report_curves.png"):
        assert f"]({picture})" in readme and (ROOT / picture).is_file(), picture


def test_each_docs_page_is_in_the_nav():
    nav = (ROOT / "mkdocs.yml").read_text()
    for page in (ROOT / "docs").rglob("*.md"):
        assert str(page.relative_to(ROOT / "docs")) in nav, page


def _pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def test_no_page_repeats_its_title_as_a_heading():
    for page in _pages():
        headings = re.findall(r"^#+ (.+)$", _outside_code(page.read_text()), re.M)
        assert headings and headings[0] not in headings[1:], page


def test_python_snippets_define_every_name_they_use():
    # Copied as shown, a snippet runs: ruff's undefined-name rule (F821) over each block.
    ruff = Path(sys.executable).parent / "ruff"
    if not ruff.is_file():
        pytest.skip("ruff is not installed (the dev extra)")
    for page in _pages():
        text = page.read_text()
        for block in re.finditer(r"^```python\n(.*?)^```", text, re.S | re.M):
            result = subprocess.run(
                [str(ruff), "check", "--isolated", "--no-cache", "--select", "F821", "-"],
                input=block.group(1),
                capture_output=True,
                text=True,
                timeout=60,
            )
            line = text.count("\n", 0, block.start()) + 1
            assert result.returncode == 0, f"{page}:{line}\n{result.stdout}"


def _outside_code(text: str) -> str:
    return re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
