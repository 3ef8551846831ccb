"""The import rules of docs/architecture.md, checked on the source with `ast` (no import-linter needed).

Every .py file under advisor/, trainer/ and reports/ is parsed; every import in it (top level, inside a
function, under TYPE_CHECKING, relative or absolute) is resolved to a module and checked against the tables
below. Edit the tables, not the checker, when the layers change.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("advisor", "trainer", "reports")

# ------------------------------------------------------------------------------------------- the layer map
# A module's layer: the longest prefix below that names it or a package above it.
LAYER_OF_PREFIX: dict[str, str] = {
    "advisor": "core",  # everything in advisor/ that is neither kernel nor cli: ingest, metrics, failures, ...
    "advisor.kernel": "kernel",
    "advisor.cli": "app",
    "trainer": "trainer",
    "reports": "reports",
}
LAYER_OF_EXACT: dict[str, str] = {
    "advisor": "kernel",  # advisor/__init__.py holds only __version__, which every layer stamps on its output
}

# Which layers a layer may import (its own included).
MAY_IMPORT: dict[str, set[str]] = {
    "kernel": {"kernel"},
    "core": {"kernel", "core"},
    "trainer": {"kernel", "core", "trainer"},
    "reports": {"kernel", "reports"},
    "app": {"kernel", "core", "trainer", "reports", "app"},
}

# Modules of another layer that reports/ may still read: the typed results it renders.
CONTRACTS: dict[str, str] = {
    "advisor.analysis": "Analysis: analysis.json",
    "advisor.failures.result": "FailureAnalysis: the failures section of analysis.json",
    "trainer.evaluation.run": "Evaluation: eval.json (until it has a contract module of its own)",
}

# Third-party packages a layer must not import, not even lazily.
ML = {"torch", "transformers", "peft", "accelerate", "trl", "gguf", "bitsandbytes", "datasets", "safetensors"}
PRESENTATION = {"click", "rich", "matplotlib", "jinja2"}
HEAVY = {"sklearn", "scipy", "datasketch", "dask", "distributed", "pyarrow", "numpy", "pandas"}
FORBIDDEN: dict[str, set[str]] = {
    "kernel": ML | PRESENTATION | HEAVY,
    "core": ML | PRESENTATION,
    "trainer": {"click", "matplotlib", "jinja2"},
    "reports": ML | {"click"},
    "app": set(),
}
# (module, package) pairs allowed despite FORBIDDEN, each with its reason.
EXCEPTIONS: dict[tuple[str, str], str] = {
    ("advisor.kernel.progress", "rich"): "the one progress-bar style the CLI and the trainer share; stderr only",
}

HEAVY_AT_RUNTIME = ("torch", "transformers", "peft", "matplotlib")  # `advise analyze` must not load these


# ------------------------------------------------------------------------------------------- the checker
@dataclass(frozen=True)
class Import:
    path: Path
    line: int
    importer: str
    target: str  # resolved dotted module (project) or top-level package (third party)


def layer_of(module: str) -> str | None:
    if module in LAYER_OF_EXACT:
        return LAYER_OF_EXACT[module]
    best = None
    for prefix in LAYER_OF_PREFIX:
        if (module == prefix or module.startswith(prefix + ".")) and (best is None or len(prefix) > len(best)):
            best = prefix
    return LAYER_OF_PREFIX[best] if best else None


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def iter_imports(root: Path):
    """Every import of every module under the project packages, resolved against the modules that exist."""
    files = [p for pkg in PACKAGES if (root / pkg).is_dir() for p in sorted((root / pkg).rglob("*.py"))
             if "__pycache__" not in p.parts]
    modules = {module_name(root, p) for p in files}
    for path in files:
        importer = module_name(root, path)
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield Import(path, node.lineno, importer, alias.name)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = importer.split(".") if is_package else importer.split(".")[:-1]
                    base = base[:len(base) - (node.level - 1)]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                for alias in node.names:
                    sub = f"{module}.{alias.name}"
                    yield Import(path, node.lineno, importer, sub if sub in modules else module)


def check_tree(root: Path) -> list[str]:
    """The import-rule violations under root, as `path:line: message` lines (empty: the rules hold)."""
    problems = []
    for imp in iter_imports(root):
        src = layer_of(imp.importer)
        top = imp.target.split(".")[0]
        where = f"{imp.path.relative_to(root)}:{imp.line}: {imp.importer} ({src})"
        if top in PACKAGES:
            dst = layer_of(imp.target)
            if dst in MAY_IMPORT[src]:
                continue
            if src == "reports" and any(imp.target == c or imp.target.startswith(c + ".") for c in CONTRACTS):
                continue
            problems.append(f"{where} imports {imp.target} ({dst}); {src} may import {sorted(MAY_IMPORT[src])}"
                            + (" and the contracts" if src == "reports" else ""))
        elif top in FORBIDDEN[src] and (imp.importer, top) not in EXCEPTIONS:
            problems.append(f"{where} imports {top}, which the {src} layer must not use")
    return list(dict.fromkeys(problems))  # one line per broken import, however many names it imports


# ------------------------------------------------------------------------------------------- the tests
def test_project_follows_the_import_rules():
    problems = check_tree(ROOT)
    assert not problems, "import rules broken (docs/architecture.md):\n" + "\n".join(problems)


def _tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


CLEAN = {
    "advisor/__init__.py": "__version__ = '0'\n",
    "advisor/kernel/__init__.py": "",
    "advisor/kernel/errors.py": "class AdviseError(Exception): ...\n",
    "advisor/kernel/progress.py": "from rich.progress import Progress\n",
    "advisor/metrics/__init__.py": "",
    "advisor/metrics/cost.py": "from advisor.kernel.errors import AdviseError\nimport scipy\n",
    "advisor/analysis.py": "from advisor import __version__\nfrom advisor.metrics import cost\n",
    "advisor/cli/__init__.py": "import click\n",
    "advisor/cli/commands/__init__.py": "",
    "advisor/cli/commands/run.py": "def run():\n    from trainer.training import train\n    from reports import render\n",
    "trainer/__init__.py": "",
    "trainer/training/__init__.py": "",
    "trainer/training/train.py": "import torch\nfrom advisor.metrics.cost import x\nfrom advisor.kernel import progress\n",
    "reports/__init__.py": "",
    "reports/charts.py": "def f():\n    import matplotlib\n",
    "reports/render.py": "import jinja2\nfrom advisor.analysis import Analysis\nfrom advisor.kernel import errors\n"
                         "from .charts import f\n",
}


def test_checker_accepts_a_tree_that_follows_the_rules(tmp_path):
    assert check_tree(_tree(tmp_path, CLEAN)) == []


@pytest.mark.parametrize(("rel", "text", "expected"), [
    # the acceptance example of issue #17: the analysis core importing the trainer
    ("advisor/metrics/x.py", "import trainer\n", "advisor/metrics/x.py:1: advisor.metrics.x (core) imports trainer"),
    ("advisor/metrics/x.py", "def f():\n    from trainer.training.train import train\n",
     "advisor/metrics/x.py:2: advisor.metrics.x (core) imports trainer.training.train (trainer)"),
    ("advisor/metrics/x.py", "from ..cli import commands\n", "imports advisor.cli.commands (app)"),
    ("advisor/metrics/x.py", "from reports import render\n", "imports reports.render (reports)"),
    ("advisor/metrics/x.py", "import rich.table\n", "imports rich, which the core layer must not use"),
    ("advisor/kernel/io.py", "def f():\n    import torch\n", "imports torch, which the kernel layer must not use"),
    ("advisor/kernel/io.py", "from advisor.metrics import cost\n", "advisor.kernel.io (kernel) imports advisor.metrics"),
    ("advisor/kernel/io.py", "import click\n", "imports click, which the kernel layer must not use"),
    ("trainer/training/x.py", "from advisor.cli import commands\n", "(trainer) imports advisor.cli.commands (app)"),
    ("trainer/training/x.py", "import matplotlib\n", "imports matplotlib, which the trainer layer must not use"),
    ("reports/x.py", "from advisor.metrics import cost\n", "reports.x (reports) imports advisor.metrics.cost (core)"),
    ("reports/x.py", "from trainer.training import train\n", "imports trainer.training.train (trainer)"),
    ("reports/x.py", "import torch\n", "imports torch, which the reports layer must not use"),
])
def test_checker_flags_a_broken_rule(tmp_path, rel, text, expected):
    problems = check_tree(_tree(tmp_path, {**CLEAN, rel: text}))
    assert len(problems) == 1, problems
    assert expected in problems[0]


def test_analyze_loads_no_ml_or_plotting_library(tmp_path):
    """`advise analyze` on the bundled example, in one process, then a look at sys.modules."""
    out = tmp_path / "analysis.json"
    code = (
        "import json, sys\n"
        "from advisor.cli import main\n"
        f"rc = main(['analyze', {str(ROOT / 'examples' / 'ecommerce')!r}, '-o', {str(out)!r}])\n"
        f"heavy = sorted(m for m in {HEAVY_AT_RUNTIME!r} if m in sys.modules)\n"
        "print('\\nRESULT ' + json.dumps({'rc': rc, 'heavy': heavy}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.rsplit("RESULT ", 1)[1])
    assert result["rc"] == 0, proc.stderr[-2000:]
    analysis = json.loads(out.read_text())
    assert analysis["volume"]["requests"] > 0  # the command really ran: a summary was printed, a file written
    assert result["heavy"] == [], f"`advise analyze` imported {result['heavy']}"
