"""The Store is the one boundary to stored data (issue 10, part 1): no SQL and no database
connection outside medcite/index/, and every store member the pipeline uses is in the Protocol."""

import ast
import re
from pathlib import Path

from medcite.index.store import Store

PACKAGE = Path(__file__).resolve().parents[2] / "medcite"
# SQL as it appears in a string literal; the words alone are ordinary English ("select the label").
SQL = re.compile(
    r"\b(SELECT\s+(DISTINCT\s+)?[\w.*,() ]+\s+FROM|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM"
    r"|CREATE\s+(TABLE|INDEX)|PRAGMA\s+\w+|BEGIN\s+IMMEDIATE)\b",
    re.IGNORECASE,
)
CONNECTION = re.compile(r"\.conn\b|\.execute(many|script)?\(|\.cursor\(|\.interrupt\(\)")


def _outside_index() -> list[Path]:
    return [p for p in PACKAGE.rglob("*.py") if "index" not in p.relative_to(PACKAGE).parts[:1]]


def test_no_sql_outside_the_index_package():
    offenders = []
    for path in _outside_index():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.search(node.value):
                offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno}: {node.value[:60]!r}")
    assert offenders == []


def test_no_database_connection_outside_the_index_package():
    offenders = []
    for path in _outside_index():
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            code = line.split("#", 1)[0]
            if CONNECTION.search(code) and "store.interrupt()" not in code:
                offenders.append(f"{path.relative_to(PACKAGE)}:{lineno}: {line.strip()}")
    assert offenders == []


def test_every_store_member_used_outside_the_index_is_in_the_protocol():
    used: set[str] = set()
    for path in _outside_index():
        used |= set(re.findall(r"\bstore\.([a-z_]+)\b", path.read_text(encoding="utf-8")))
    members = {name for name in dir(Store) if not name.startswith("_")} | set(Store.__annotations__)
    assert used, "the pipeline reads the store somewhere"
    assert sorted(used - members) == []
