"""Workflow tests run the project's workflows with act through scripts/actrun.py."""

import sys
from pathlib import Path

# scripts/ is not a package; make `import actrun` work for every test module here.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
