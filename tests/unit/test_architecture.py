"""The architecture's rules that import-linter cannot see (issue 12).

Only the ledger package (`services/onebudget/ledger/`) writes SQL against the `ledger` schema:
every other package reads the ledger through `onebudget.ledger.reads` and moves money through
the ledger's Python API. This scans every .py and .sql file under services/onebudget outside
the ledger package and names each file and line that touches the schema. Python code that calls
into the package (`ledger.create_transfers(conn, ...)`, `from onebudget.ledger.store import ...`)
is not SQL and is fine; only string literals (not docstrings) and .sql text are looked at.
The import contracts themselves are in pyproject.toml ([tool.importlinter]); ./scripts/test
runs `lint-imports`.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "services" / "onebudget"
LEDGER = PACKAGE / "ledger"

# `ledger.<name>`, optionally quoted, not part of a dotted Python path (`onebudget.ledger.x`).
_QUALIFIED = re.compile(r'(?<![\w.])"?ledger"?\s*\.\s*"?([A-Za-z_]\w*)', re.IGNORECASE)
_SQL_WORD = re.compile(
    r"\b(select|insert|update|delete|from|join|into|table|call|execute|returning|truncate)\b",
    re.IGNORECASE,
)
_SEARCH_PATH = re.compile(r"search_path\b[^;]*\bledger\b", re.IGNORECASE)
_STRING_TOKENS = {tokenize.STRING} | (
    {tokenize.FSTRING_MIDDLE} if hasattr(tokenize, "FSTRING_MIDDLE") else set()
)


def ledger_schema_objects() -> frozenset[str]:
    """Every name the ledger's migrations create or use in the `ledger` schema."""
    names: set[str] = set()
    for sql in (LEDGER / "migrations").glob("*.sql"):
        names.update(m.lower() for m in _QUALIFIED.findall(sql.read_text()))
    return frozenset(names)


def _touches_ledger(text: str, schema: frozenset[str]) -> list[int]:
    """Offsets in `text` (SQL, or a string literal) where it names the ledger schema."""
    found = [
        m.start()
        for m in _QUALIFIED.finditer(text)
        if m.group(1).lower() in schema or _SQL_WORD.search(text)
    ]
    found += [m.start() for m in _SEARCH_PATH.finditer(text)]
    return sorted(found)


def _documentation_lines(source: str) -> set[int]:
    """Lines of string statements (docstrings): prose, never sent to a database."""
    lines: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            lines.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    return lines


def _literal_text(token: str) -> str:
    """A string token's literal text: an f-string's {replacement fields} are Python code, so
    they become blanks (same length, same line breaks)."""
    prefix = re.match(r"[A-Za-z]*", token)
    if prefix is None or "f" not in prefix.group().lower():
        return token
    out, depth, i = [], 0, 0
    while i < len(token):
        c = token[i]
        if depth == 0 and token.startswith(("{{", "}}"), i):
            out.append("  ")
            i += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}" and depth:
            depth -= 1
            c = " "
        out.append(c if depth == 0 or c == "\n" else " ")
        i += 1
    return "".join(out)


def scan_python(source: str, schema: frozenset[str]) -> list[tuple[int, str]]:
    """(line, text) of each string literal in Python `source` that touches the ledger schema."""
    docs = _documentation_lines(source)
    found: list[tuple[int, str]] = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in _STRING_TOKENS or token.start[0] in docs:
            continue
        for offset in _touches_ledger(_literal_text(token.string), schema):
            line = token.start[0] + token.string.count("\n", 0, offset)
            found.append((line, source.splitlines()[line - 1].strip()))
    return sorted(set(found))


def scan_sql(source: str, schema: frozenset[str]) -> list[tuple[int, str]]:
    """(line, text) of each line of SQL `source` (comments aside) that touches the schema."""
    found = []
    for number, line in enumerate(source.splitlines(), start=1):
        code = line.split("--", 1)[0]
        if _QUALIFIED.search(code) or _SEARCH_PATH.search(code):
            found.append((number, line.strip()))
    return found


def scan_tree(
    package: Path, ledger: Path, schema: frozenset[str], root: Path = ROOT
) -> tuple[int, list[str]]:
    """(files scanned, "path:line: text" of every touch) under `package`, outside `ledger`,
    paths relative to `root`."""
    scanned, touches = 0, []
    for path in sorted([*package.rglob("*.py"), *package.rglob("*.sql")]):
        if path.is_relative_to(ledger) or "_pb2" in path.name:
            continue
        scanned += 1
        text = path.read_text()
        hits = scan_sql(text, schema) if path.suffix == ".sql" else scan_python(text, schema)
        touches += [f"{path.relative_to(root)}:{line}: {code}" for line, code in hits]
    return scanned, touches


def test_no_package_but_the_ledger_writes_sql_against_the_ledger_schema() -> None:
    scanned, touches = scan_tree(PACKAGE, LEDGER, ledger_schema_objects())
    assert scanned > 100, "the scan must see the services' code"
    assert touches == [], (
        "SQL against the ledger schema outside services/onebudget/ledger/ (add a function to"
        " onebudget.ledger.reads and call it instead):\n" + "\n".join(touches)
    )


def test_the_schema_objects_include_the_ledger_tables() -> None:
    assert {"accounts", "transfers", "entries", "funding_routes"} <= ledger_schema_objects()


SCHEMA = frozenset({"accounts", "transfers", "entries", "expire_pending"})


def test_the_scan_finds_sql_in_python_strings() -> None:
    source = '''"""A module that mentions ledger.accounts in prose only."""
import asyncpg


async def f(conn: asyncpg.Connection) -> None:
    """Reads ledger.transfers (prose)."""
    await conn.fetch("SELECT id FROM ledger.accounts WHERE kind = $1", "budget")
    await conn.fetch(
        "SELECT 1"
        " FROM ledger.transfers t"
    )
    await conn.execute(f"UPDATE Ledger.Entries SET x = {1}")
    await conn.fetch("""
        SELECT *
        FROM "ledger"."accounts" a
    """)
    await conn.fetch("SELECT ledger.expire_pending($1)", 5)
    await conn.execute("SET search_path TO ledger, public")
    await conn.fetch("SELECT * FROM ledger.new_table_not_yet_known")
'''
    lines = [line for line, _ in scan_python(source, SCHEMA)]
    assert lines == [7, 10, 12, 15, 17, 18, 19]


def test_the_scan_leaves_python_calls_into_the_ledger_package_alone() -> None:
    source = '''"""Pays: ledger.transfers get two rows; SELECT from ledger.accounts: prose."""
from onebudget import ledger
from onebudget.ledger.store import create_transfers
from onebudget.ledger import reads as ledger_reads

MIGRATIONS = "onebudget.ledger.migrations"  # ledger.accounts in a comment


async def pay(conn, moves, ledger_totals):
    await ledger.create_transfers(conn, moves)
    await ledger_reads.expired_pending_ids(conn, [])
    print(f"{ledger.accounts} {ledger_totals.keys()}")
    return "the ledger refused the payment's transfers", sorted(ledger_totals.keys())
'''
    assert scan_python(source, SCHEMA) == []


def test_the_scan_finds_ledger_sql_in_sql_files() -> None:
    source = """-- the ledger.accounts of payees (a comment)
CREATE VIEW payment.paid AS
SELECT * FROM ledger.transfers t
JOIN payment.payments p ON p.payment_id::text = t.plan_line_ref;
SET search_path = ledger;
"""
    assert [line for line, _ in scan_sql(source, SCHEMA)] == [3, 5]


def test_the_scan_names_file_and_line(tmp_path: Path) -> None:
    package, ledger = tmp_path / "onebudget", tmp_path / "onebudget" / "ledger"
    (package / "payment" / "adapters").mkdir(parents=True)
    ledger.mkdir()
    (ledger / "reads.py").write_text('Q = "SELECT * FROM ledger.accounts"\n')
    (package / "payment" / "adapters" / "repo.py").write_text(
        'X = 1\nQ = "SELECT pending_id FROM ledger.transfers"\n'
    )
    scanned, touches = scan_tree(package, ledger, SCHEMA, root=tmp_path)
    assert scanned == 1
    assert touches == [
        'onebudget/payment/adapters/repo.py:2: Q = "SELECT pending_id FROM ledger.transfers"'
    ]
