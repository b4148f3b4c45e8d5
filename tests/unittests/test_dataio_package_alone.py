"""The installed package does not reach into the checkout: no module of
``summary_ssl`` imports ``tests`` or ``tools`` (the toy corpus, its
generator and the toy-run settings live in ``tools/toy/``), nor names the
checkout's ``tests/samples``. Docstring examples may: they run from the
checkout."""

import ast
from pathlib import Path

import summary_ssl

PACKAGE = Path(summary_ssl.__file__).parent
CHECKOUT = ("tests", "tools")


def _outside_docstrings(tree):
    """The nodes of ``tree``, less the docstrings."""
    docstrings = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body:
            first = body[0]
            if isinstance(first, ast.Expr) and isinstance(
                first.value, ast.Constant
            ):
                docstrings.add(id(first.value))
    return [n for n in ast.walk(tree) if id(n) not in docstrings]


def test_no_module_imports_or_names_the_checkout():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in _outside_docstrings(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                if "tests/samples" in node.value or "toy_corpus" in node.value:
                    found.append(f"{path}:{node.lineno}: {node.value[:60]!r}")
                continue
            else:
                continue
            for name in names:
                if name.split(".")[0] in CHECKOUT:
                    found.append(f"{path}:{node.lineno}: imports {name}")
    assert not found, "\n".join(found)
