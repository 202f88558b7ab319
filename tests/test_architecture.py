"""The house holds the shape docs/architecture.md describes: layers, no import loops, rooms of a readable size."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("accounts", "cases", "liaison", "outbox", "webhooks")
MAX_MODULE_LINES = 500


def project_modules() -> list[Path]:
    return sorted(path for package in PACKAGES for path in (ROOT / package).rglob("*.py")
                  if "migrations" not in path.parts)


def test_the_import_contracts_hold(monkeypatch: pytest.MonkeyPatch) -> None:
    """Views and tasks call actions, actions never import tasks or views, pure modules import no model,
    accounts never imports cases, and no package's modules import each other in a loop (pyproject.toml)."""
    monkeypatch.chdir(ROOT)
    assert lint_imports(no_cache=True, no_logo=True) == 0


def test_no_module_grows_past_a_readable_size() -> None:
    """A module past about 500 lines becomes a package with a module per concern."""
    too_long = {str(path.relative_to(ROOT)): lines for path in project_modules()
                if (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES}
    assert too_long == {}


def test_every_package_of_cases_says_what_it_holds() -> None:
    """Each package opens with a docstring a newcomer reads first."""
    missing = [str(init.relative_to(ROOT)) for init in (ROOT / "cases").rglob("__init__.py")
               if "migrations" not in init.parts and init.parent.name not in ("commands", "management", "templatetags")
               and not init.read_text().lstrip().startswith('"""')]
    assert missing == []


def test_the_architecture_map_names_only_modules_that_exist() -> None:
    """docs/architecture.md describes this code: every module and function it names is there."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    named_files = set(re.findall(r"\b((?:cases|accounts|liaison)/[\w/]+\.py)", text))
    assert named_files, "the map names no module"
    assert sorted(name for name in named_files if not (ROOT / name).is_file()) == []
    named_functions = set(re.findall(r"`((?:cases|accounts)/[\w/]+\.py): (\w+)`", text))
    missing = [f"{path}: {name}" for path, name in named_functions
               if not re.search(rf"^(?:def|class) {name}\b", (ROOT / path).read_text(), re.MULTILINE)]
    assert missing == []
    pure = re.search(r"pure modules \(.*?\):\n(.*?)```", text, re.DOTALL)
    assert pure is not None
    listed = set(re.findall(r"[a-z_]+", re.sub(r"\(.*?\)", "", pure.group(1))))
    assert sorted(name for name in listed if not (ROOT / "cases" / f"{name}.py").is_file()) == []
