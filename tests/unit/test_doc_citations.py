"""Code, tests, README and docs cite only documents the repository contains: every `*.md` path
(with its `#anchor`, if any) exists, and nothing cites the design notes kept outside the repo."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ["README.md", "BENCHMARKS.md", "Makefile", "Dockerfile", "docker-compose.yml"]
SCANNED_DIRS = ["processor", "tests", "bench", "devtools", "docs", "ops", "topics", ".ci"]
SUFFIXES = {".py", ".md", ".yml", ".yaml", ".json", ".toml", ".sh", ".txt", ""}
# A path ending in .md, optionally with an anchor: docs/contract.md#5-offline-replay, ../x.md
DOC_PATH = re.compile(r"(?<![\w/.-])((?:\.\.?/)*(?:[\w-][\w.-]*/)*[\w-][\w.-]*\.md)(#[\w-]+)?")
# Documents outside the repository (the shared design notes) and their usual short forms.
OUTSIDE = re.compile(r"\bDESIGN\b|\.\./shared/|\bFAUST-NOTES\b|\bKAFKA-LOCAL\b|\bSTYLE\.md\b")
# Modules edited on other branches that still cite the old notes; each entry is what to write
# instead. Remove the entry once the module is switched.
PENDING = {
    "processor/domain/events.py": "(DESIGN section 2) -> (docs/contract.md#2-input-events)",
    "processor/domain/machine.py": "(DESIGN section 3) -> (docs/contract.md#3-sla-semantics)",
}


def _files() -> list[Path]:
    found = [ROOT / name for name in SCANNED if (ROOT / name).is_file()]
    for folder in SCANNED_DIRS:
        found += [p for p in (ROOT / folder).rglob("*") if p.is_file() and p.suffix in SUFFIXES]
    this = Path(__file__).resolve()
    return sorted(p for p in found if p.resolve() != this and "__pycache__" not in p.parts)


def _slug(heading: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    lines = path.read_text("utf-8").splitlines()
    return {_slug(m.group(1)) for line in lines if (m := re.match(r"#{1,6} (.+)", line))}


def _resolve(cited: str, source: Path) -> Path | None:
    """A Markdown file resolves a link relative to itself; elsewhere paths are repo-relative."""
    bases = [source.parent, ROOT] if source.suffix == ".md" else [ROOT, source.parent]
    for base in bases:
        candidate = (base / cited).resolve()
        if candidate.is_file() and candidate.is_relative_to(ROOT):
            return candidate
    return None


def test_every_cited_doc_path_and_anchor_exists() -> None:
    problems = []
    for path in _files():
        text = path.read_text("utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            for m in DOC_PATH.finditer(line):
                if line[m.end() : m.end() + 1] == "{":
                    continue  # a template (an f-string building the anchor), not a citation
                where = f"{path.relative_to(ROOT)}:{number}"
                target = _resolve(m.group(1), path)
                if target is None:
                    problems.append(f"{where}: {m.group(1)} does not exist in the repository")
                elif m.group(2) and m.group(2)[1:] not in _anchors(target):
                    problems.append(f"{where}: {m.group(1)} has no heading {m.group(2)}")
    assert problems == []


def test_nothing_cites_documents_kept_outside_the_repository() -> None:
    citing = {
        str(path.relative_to(ROOT)): number
        for path in _files()
        for number, line in enumerate(path.read_text("utf-8", errors="replace").splitlines(), 1)
        if OUTSIDE.search(line)
    }
    assert set(citing) <= set(PENDING), citing


def test_the_check_finds_a_missing_page_and_a_missing_anchor(tmp_path: Path) -> None:
    """The checks themselves: a made-up page and a made-up section are both reported."""
    source = ROOT / "processor" / "x.py"
    assert _resolve("docs/contract.md", source) == ROOT / "docs" / "contract.md"
    assert _resolve("docs/nowhere.md", source) is None
    assert "5-offline-replay" in _anchors(ROOT / "docs" / "contract.md")
    assert "9-nothing" not in _anchors(ROOT / "docs" / "contract.md")
    assert OUTSIDE.search("see DESIGN section 5") and OUTSIDE.search("../shared/DESIGN.md")


@pytest.mark.parametrize(
    ("heading", "slug"),
    [
        ("5. Offline replay", "5-offline-replay"),
        ("Runbook: SlaProcessorDown", "runbook-slaprocessordown"),
    ],
)
def test_slug_is_githubs(heading: str, slug: str) -> None:
    assert _slug(heading) == slug
