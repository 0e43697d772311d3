"""The documentation's reference pages are the registry's, so they cannot drift from it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
