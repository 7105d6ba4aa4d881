"""The README's architecture section stays true to the code: it names every top-level
module and package of ``api/`` (issue #10: "names every top-level module of api/")."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _architecture_section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("## Architecture")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def test_every_top_level_module_of_api_is_named_in_the_architecture() -> None:
    section = _architecture_section()
    names = sorted(
        [f"api/{p.name}" for p in (ROOT / "api").glob("*.py") if p.name != "__init__.py"]
        + [f"api/{p.name}/" for p in (ROOT / "api").iterdir()
           if p.is_dir() and not p.name.startswith((".", "__"))])
    assert len(names) > 15  # the walk found the package
    missing = [n for n in names if f"`{n}`" not in section and f"`{n.rstrip('/')}`" not in section]
    assert not missing, f"README's architecture section does not name {missing}"


def test_every_module_the_architecture_names_exists() -> None:
    import re

    section = _architecture_section()
    named = set(re.findall(r"`((?:api|matcher)/[\w/]+(?:\.py)?)`", section))
    assert named
    gone = sorted(n for n in named if not (ROOT / n).exists())
    assert not gone, f"README names modules that do not exist: {gone}"
