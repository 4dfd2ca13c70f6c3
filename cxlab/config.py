"""Project paths, in one place. Notebooks and scripts import these; nobody types a path."""

from __future__ import annotations

from pathlib import Path

__all__ = ["PROJECT_ROOT", "DATA_DIR", "SAMPLE_DIR", "REPORTS_DIR", "NOTEBOOKS_DIR"]

PROJECT_ROOT: Path = Path(__file__).resolve().parent.parent
DATA_DIR: Path = PROJECT_ROOT / "data"
SAMPLE_DIR: Path = DATA_DIR / "sample"
REPORTS_DIR: Path = PROJECT_ROOT / "reports"
NOTEBOOKS_DIR: Path = PROJECT_ROOT / "notebooks"
