"""Group the flat modules of app/services/ into packages by what they are about (issue #13, point 4).

Run from the repository root, on a clean work tree:

    .venv/bin/python scripts/relayout.py            # move, rewrite, report what is left
    .venv/bin/python scripts/relayout.py --dry-run  # say what would move, change nothing
    .venv/bin/python scripts/relayout.py --format   # the same, then `ruff format` over the tree

What it does, each step idempotent (a second run after more code arrives only rewrites what still uses
an old path):

1. `git mv app/services/<old>.py app/services/<package>/<new>.py` for each row of MOVES; a module that
   is not there (removed by another branch, or already moved) is skipped and said; a module of
   app/services/ that MOVES does not know is left where it is and said.
2. The status and audit-action labels leave `instances.py` (which starts, loads and saves instances)
   for `app/labels.py`: web pages, exports and messages all name statuses with them.
3. Every Python file under app/, tests/, bench/, scripts/, migrations/ and the root is read with `ast`:
   `from app.services import x`, `from app.services.x import y`, relative imports inside
   app/services, `import app.services.x` are rewritten to the new modules (a statement importing from
   several packages is split); where a module is renamed, the name it is bound to is renamed in the
   file too (or kept with `as`, when the new name is taken there). Then every dotted
   `app.services.x` (mock and monkeypatch targets, logger names, docstrings, comments) and every
   `services/x.py` path in the code, docs/*.md and README.md is rewritten.
4. Task-state checks against the string "ready" use the constant `TASK_READY` (app/models/workflow.py).
5. docs/architecture.md's row for app/services/ becomes one row per package; pyproject.toml gets the
   `ruff format` settings and the Makefile's lint target `ruff format --check` (if not there yet).
6. At the end, `git grep` for any old path still written somewhere, printed for a person to look at.
"""

from __future__ import annotations

import argparse
import ast
import re
import subprocess
import sys
from pathlib import Path

# old module -> (package, new module); package "" = stays at app/services/ top level (infrastructure
# every package uses). A new name says what the module holds where the old one did not.
MOVES: dict[str, tuple[str, str]] = {
    # infrastructure
    "transaction": ("", "transaction"),
    "unit_of_work": ("", "unit_of_work"),
    "errors": ("", "errors"),
    "audit": ("", "audit"),  # appending an audit event, used by every package
    "metrics": ("", "metrics"),  # Prometheus counters and the scrape
    "refcache": ("", "reference_cache"),  # per-process caches of heads and the calendar
    "rows": ("", "bulk_insert"),  # multi-row inserts (COPY / executemany)
    # the monthly evaluation of a person, from opening the month to the lock
    "cycles": ("evaluation", "cycles"),
    "instances": ("evaluation", "instances"),
    "instance_view": ("evaluation", "instance_details"),  # what the instance page and the printed sheet show
    "steps": ("evaluation", "steps"),
    "tasks": ("evaluation", "tasks"),
    "inbox": ("evaluation", "inbox"),
    "plans": ("evaluation", "plans"),
    "decisions": ("evaluation", "decisions"),
    "quota": ("evaluation", "quota"),
    "appeals": ("evaluation", "appeals"),
    "absence": ("evaluation", "absence"),
    "why": ("evaluation", "why"),
    "record_page": ("evaluation", "record_page"),
    "evidence": ("evaluation", "evidence"),
    "evidence_storage": ("evaluation", "evidence_storage"),
    "filecheck": ("evaluation", "filecheck"),
    "comments": ("evaluation", "comments"),
    "operations": ("evaluation", "operations"),
    "overdue": ("evaluation", "overdue"),
    "timers": ("evaluation", "timers"),
    # people, units, accounts and who may do what
    "accounts": ("organisation", "accounts"),
    "activation": ("organisation", "activation"),
    "sso": ("organisation", "sso"),
    "preferences": ("organisation", "preferences"),
    "access": ("organisation", "access"),
    "authority": ("organisation", "authority"),
    "delegation": ("organisation", "delegation"),
    "membership": ("organisation", "membership"),
    "transfers": ("organisation", "transfers"),
    "orgimport": ("organisation", "orgimport"),
    "navigation": ("organisation", "menu"),  # the header menu: the pages a person may open
    # the regulation's data: scoring schemes and the working-day calendar
    "schemes": ("regulation", "schemes"),
    "calendar": ("regulation", "calendar"),
    # reading many records: dashboards, lists, roll-ups, exports
    "dashboard": ("reporting", "dashboard"),
    "summary": ("reporting", "summary"),
    "filters": ("reporting", "filters"),
    "reports": ("reporting", "reports"),
    "rollup": ("reporting", "rollup"),
    "exports": ("reporting", "exports"),
    "spreadsheet_text": ("reporting", "spreadsheet_text"),
    "auditlog": ("reporting", "audit_csv"),  # the administrators' CSV export of the audit trail
    # the process itself: drafts, simulation, published versions
    "designer": ("process_design", "designer"),
    "simulate": ("process_design", "simulate"),
    "versions": ("process_design", "versions"),
    # telling people things
    "notifications": ("messaging", "notifications"),
    "mail": ("messaging", "mail"),
    "mail_address": ("messaging", "mail_address"),
    "emails": ("messaging", "address_syntax"),  # an organisation file's address syntax check
}

PACKAGES = {
    "evaluation": "The monthly evaluation of a person: opening the month, the tasks and their forms, plans, "
    "decisions and the quota, appeals, absence, evidence and comments, operations on an instance, "
    "timers and overdue notices.",
    "organisation": "People, units and accounts: sign-in, activation, single sign-on, preferences; who may see or "
    "do what (access, authority, delegations); where a person works (membership, transfers); "
    "the organisation file import; the header menu.",
    "regulation": "The regulation's data that administrators keep: scoring schemes and the working-day calendar.",
    "reporting": "Reading many records at once: the dashboard and its monthly summary, the filtered lists, "
    "the quarter and year roll-up, Excel and CSV exports.",
    "process_design": "The process itself: drafts, simulation before publishing, published versions.",
    "messaging": "Telling people things: notifications, the mail outbox, e-mail address checks.",
}

# Names that leave a module for another one (module, name) -> dotted module that now holds it.
SYMBOL_MOVES: dict[tuple[str, str], str] = {
    ("app.services.evaluation.instances", "STATUS_LABELS"): "app.labels",
    ("app.services.evaluation.instances", "ACTION_LABELS"): "app.labels",
}
LABELS_FILE = Path("app/labels.py")
LABELS_HEADER = '''"""The names of a record's statuses and of audit actions, marked for the catalog (Vietnamese msgids).

Pages translate them when they render; exports and messages use them in Vietnamese. They were in the
instance service, which starts, loads and saves instances and has no use for them itself."""
from __future__ import annotations

from app.i18n import N_
'''

ROOTS = ["app", "tests", "bench", "scripts", "migrations"]
PROSE = ["README.md", "docs"]
SERVICES = Path("app/services")

OLD = set(MOVES)


def new_dotted(old: str) -> str:
    package, name = MOVES[old]
    return f"app.services.{package}.{name}" if package else f"app.services.{name}"


def new_path(old: str) -> Path:
    package, name = MOVES[old]
    return SERVICES / package / f"{name}.py" if package else SERVICES / f"{name}.py"


def git(*args: str, check: bool = True) -> str:
    return subprocess.run(["git", *args], check=check, capture_output=True, text=True).stdout


def say(*parts: object) -> None:
    print(*parts, flush=True)


# --- 1. moves ---------------------------------------------------------------------------------------


def move_files(dry: bool) -> None:
    for package, doc in PACKAGES.items():
        init = SERVICES / package / "__init__.py"
        if not init.exists():
            say(f"create {init}")
            if not dry:
                init.parent.mkdir(parents=True, exist_ok=True)
                init.write_text(f'"""{doc}"""\n', encoding="utf-8")
                git("add", str(init))
    for old in sorted(MOVES):
        src, dst = SERVICES / f"{old}.py", new_path(old)
        if src == dst:
            continue
        if src.exists() and dst.exists():
            say(f"CONFLICT: both {src} and {dst} exist; left alone, merge them by hand")
        elif src.exists():
            say(f"git mv {src} {dst}")
            if not dry and subprocess.run(["git", "mv", str(src), str(dst)], capture_output=True).returncode:
                src.rename(dst)  # not tracked yet (a file added but not committed): move it all the same
                git("add", "--", str(dst))
        elif not dst.exists():
            say(f"skip: {src} does not exist (removed by another branch?)")
    known = {f"{o}.py" for o in MOVES} | {f"{n}.py" for p, n in MOVES.values() if not p} | {"__init__.py"}
    for path in sorted(SERVICES.glob("*.py")):
        if path.name not in known:
            say(f"UNMAPPED: {path} stays at the top level; add it to MOVES and run again")


# --- 2. labels out of instances.py --------------------------------------------------------------------


def move_labels(dry: bool) -> None:
    src = new_path("instances")
    if not src.exists():
        say(f"skip labels: {src} does not exist")
        return
    text = src.read_text(encoding="utf-8")
    tree = ast.parse(text)
    lines = text.splitlines(keepends=True)
    names = {n for _, n in SYMBOL_MOVES}
    found = [
        node
        for node in tree.body
        if isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Name)
        and node.targets[0].id in names
    ]
    if not found:
        return
    say(f"move {', '.join(n.targets[0].id for n in found)} from {src} to {LABELS_FILE}")
    if dry:
        return
    blocks, drop = [], set()
    for node in found:
        start = node.lineno - 1
        while start > 0 and lines[start - 1].lstrip().startswith("#"):  # the comment above goes along
            start -= 1
        blocks.append("".join(lines[start : node.end_lineno]))
        drop.update(range(start, node.end_lineno))
    kept = "".join(line for i, line in enumerate(lines) if i not in drop)
    kept = re.sub(r"\n{4,}", "\n\n\n", kept)
    still = {n.id for n in ast.walk(ast.parse(kept)) if isinstance(n, ast.Name) and n.id in names}
    if still:  # the module uses some of them itself
        kept = ensure_imports(kept, [("app.labels", n) for n in sorted(still)])
    src.write_text(kept, encoding="utf-8")
    existing = LABELS_FILE.read_text(encoding="utf-8") if LABELS_FILE.exists() else LABELS_HEADER
    LABELS_FILE.write_text(
        existing.rstrip("\n") + "\n\n" + "\n\n".join(b.strip("\n") + "\n" for b in blocks), encoding="utf-8"
    )
    git("add", str(LABELS_FILE))
    # N_ may now be unused in instances.py
    subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--quiet", "--fix", "--select", "F401", str(src)], check=False
    )


# --- 3. imports and dotted references -----------------------------------------------------------------


def module_of(path: Path) -> tuple[str, bool]:
    """The dotted module a file is, and whether it is a package's __init__."""
    parts = list(path.with_suffix("").parts)
    is_pkg = parts[-1] == "__init__"
    if is_pkg:
        parts = parts[:-1]
    return ".".join(parts), is_pkg


def exists_module(dotted: str) -> bool:
    p = Path(*dotted.split("."))
    return p.with_suffix(".py").exists() or (p / "__init__.py").exists()


def resolve_relative(path: Path, level: int, module: str | None) -> str | None:
    dotted, is_pkg = module_of(path)
    parts = dotted.split(".")
    base = parts if is_pkg else parts[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def is_old(name: str) -> bool:
    """An old flat module whose place or name changes."""
    return name in OLD and new_dotted(name) != f"app.services.{name}"


class FileEdit:
    def __init__(self, path: Path, text: str):
        self.path, self.text = path, text
        self.lines = text.splitlines(keepends=True)
        self.edits: list[tuple[int, int, int, int, str]] = []  # (line0, col, endline0, endcol, new), chars

    def char(self, line1: int, col_bytes: int) -> int:
        return len(self.lines[line1 - 1].encode("utf-8")[:col_bytes].decode("utf-8", "replace"))

    def replace_node(self, node: ast.AST, new: str) -> None:
        self.edits.append(
            (
                node.lineno,
                self.char(node.lineno, node.col_offset),
                node.end_lineno,
                self.char(node.end_lineno, node.end_col_offset),
                new,
            )
        )

    def apply(self) -> str:
        lines = list(self.lines)
        for l1, c1, l2, c2, new in sorted(self.edits, reverse=True):
            head, tail = lines[l1 - 1][:c1], lines[l2 - 1][c2:]
            lines[l1 - 1 : l2] = [head + new + tail]
        return "".join(lines)


def bound_names(tree: ast.AST) -> set[str]:
    """Every name a file binds other than by an import (assignments, arguments, defs, loops...)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
    return names


SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def local_binds(scope: ast.AST) -> set[str]:
    """Names a function (or comprehension) binds itself, not counting nested scopes."""
    names: set[str] = set()
    if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        a = scope.args
        names |= {x.arg for x in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg] if x is not None}
        body = scope.body if isinstance(scope.body, list) else [scope.body]
    else:
        body = list(scope.generators)
    stack = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            continue
        if isinstance(node, SCOPES):
            continue
        stack.extend(ast.iter_child_nodes(node))
    return names  # an import inside a function is the binding being renamed, not a shadow


def module_binds(tree: ast.Module) -> set[str]:
    """Names the module level binds other than by an import."""
    class_defs = ast.ClassDef
    names: set[str] = set()
    stack: list[ast.AST] = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, class_defs)):
            names.add(node.name)
            continue
        if isinstance(node, SCOPES):
            continue
        stack.extend(ast.iter_child_nodes(node))
    return names


def free_uses(tree: ast.Module, name: str) -> list[ast.Name]:
    """The Name nodes that read `name` from the module level (not shadowed by a function's own)."""
    found: list[ast.Name] = []

    def visit(node: ast.AST, shadowed: bool) -> None:
        if isinstance(node, SCOPES) and name in local_binds(node):
            shadowed = True
        if isinstance(node, ast.Name) and node.id == name and not shadowed:
            found.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child, shadowed)

    visit(tree, False)
    return found


def imported_names(tree: ast.AST) -> dict[str, int]:
    counts: dict[str, int] = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                bound = alias.asname or alias.name.split(".")[0]
                counts[bound] = counts.get(bound, 0) + 1
    return counts


def alias_text(name: str, asname: str | None) -> str:
    return f"{name} as {asname}" if asname and asname != name else name


def rewrite_imports(path: Path, text: str) -> tuple[str, list[str]]:
    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        return text, [f"SKIP (syntax error): {path}: {exc}"]
    notes: list[str] = []
    edit = FileEdit(path, text)
    here, is_pkg = module_of(path)
    here_pkg = here if is_pkg else here.rpartition(".")[0]
    in_services = here_pkg == "app.services" or here_pkg.startswith("app.services.")
    imports = imported_names(tree)
    taken = bound_names(tree) | set(imports)
    renames: dict[str, str] = {}  # bound name -> new bound name (its module was renamed)
    module_bindings: dict[str, str] = {}  # bound name -> the dotted module it is bound to, new layout

    def bind(old_bound: str, new_name: str) -> str | None:
        """The `as` name to keep, or None when the file's uses are renamed to new_name."""
        if old_bound == new_name:
            return None
        if new_name in taken or imports.get(old_bound, 0) > 1 or old_bound in module_binds(tree):
            notes.append(f"{path}: kept `{old_bound}` bound with `as` ({new_name} is already a name there)")
            return old_bound
        renames[old_bound] = new_name
        return None

    def new_module(dotted: str) -> str:
        m = re.fullmatch(r"app\.services\.(\w+)(\..*)?", dotted)
        if m and is_old(m.group(1)):
            return new_dotted(m.group(1)) + (m.group(2) or "")
        return dotted

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            parts, changed = [], False
            for alias in node.names:
                new = new_module(alias.name)
                changed |= new != alias.name
                parts.append(alias_text(new, alias.asname))
            if changed:
                edit.replace_node(node, "import " + ", ".join(parts))
            continue
        if not isinstance(node, ast.ImportFrom):
            continue
        flat = False  # a relative import inside an app/services package, written for the flat layout
        if node.level:
            target = resolve_relative(path, node.level, node.module) or ""
            if in_services and here_pkg != "app.services" and node.level == 1 and not exists_module(target):
                target, flat = "app.services" + (f".{node.module}" if node.module else ""), True
        else:
            target = node.module or ""
        if not (target == "app.services" or target.startswith("app.services.")):
            continue
        pairs: list[tuple[str, str, str | None]] = []  # (module, name, as) in the new layout
        for alias in node.names:
            module, name, asname = target, alias.name, alias.asname
            if (
                node.level == 1
                and not node.module
                and in_services
                and here_pkg != "app.services"
                and not exists_module(f"{module}.{name}")
                and (name in OLD or exists_module(f"app.services.{name}"))
            ):
                module, flat = "app.services", True  # `from . import x`, x of the flat layout
            module = new_module(module)
            if module == "app.services" and is_old(name):
                module, _, new_name = new_dotted(name).rpartition(".")
                if asname is None:
                    asname = bind(name, new_name)
                name = new_name
            if exists_module(f"{module}.{name}"):
                module_bindings[asname or name] = f"{module}.{name}"
            module = SYMBOL_MOVES.get((module, name), module)
            pairs.append((module, name, asname))
        groups: dict[str, list[str]] = {}
        for module, name, asname in pairs:
            groups.setdefault(module, []).append(alias_text(name, asname))
        original = {target: [alias_text(a.name, a.asname) for a in node.names]}
        if groups == original and not flat:
            continue
        stmts = []
        for module, names in sorted(groups.items()):
            if node.level and (module == here_pkg or module.startswith(here_pkg + ".")):
                stmts.append(f"from .{module[len(here_pkg) + 1 :]} import {', '.join(names)}")
            else:
                stmts.append(f"from {module} import {', '.join(names)}")
        col = edit.char(node.lineno, node.col_offset)
        indent = edit.lines[node.lineno - 1][:col]
        if indent.strip():
            indent = " " * len(indent)
        edit.replace_node(node, ("\n" + indent).join(stmts))

    # uses of a renamed module's bound name, and of names that moved to another module
    symbol_imports: set[tuple[str, str]] = set()
    attr_nodes: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            dotted = module_bindings.get(renames.get(node.value.id, node.value.id)) or module_bindings.get(
                node.value.id
            )
            if dotted and (dotted, node.attr) in SYMBOL_MOVES:
                if node.attr in bound_names(tree):
                    notes.append(
                        f"{path}:{node.lineno}: `{node.value.id}.{node.attr}` moved to "
                        f"{SYMBOL_MOVES[(dotted, node.attr)]}; rewrite it by hand"
                    )
                    continue
                edit.replace_node(node, node.attr)
                attr_nodes.add(id(node.value))
                symbol_imports.add((SYMBOL_MOVES[(dotted, node.attr)], node.attr))
    for old_bound, new_bound in renames.items():
        for node in free_uses(tree, old_bound):
            if id(node) not in attr_nodes:
                edit.replace_node(node, new_bound)
    out = edit.apply() if edit.edits else text
    if symbol_imports:
        out = ensure_imports(out, sorted(symbol_imports))
        SYMBOLS_MOVED_IN.append(path)
    return out, notes


SYMBOLS_MOVED_IN: list[Path] = []  # files whose `module.NAME` became `NAME`: the module import may be unused


def ensure_imports(text: str, wanted: list[tuple[str, str]]) -> str:
    tree = ast.parse(text)
    have = {(n.module, a.name) for n in tree.body if isinstance(n, ast.ImportFrom) for a in n.names}
    missing = [(m, n) for m, n in wanted if (m, n) not in have]
    if not missing:
        return text
    by_mod: dict[str, list[str]] = {}
    for m, n in missing:
        by_mod.setdefault(m, []).append(n)
    lines = text.splitlines(keepends=True)
    tops = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    absolute = [
        n for n in tops if isinstance(n, ast.ImportFrom) and n.level == 0 and (n.module or "").startswith("app")
    ]
    module = min(by_mod)
    before = [n for n in absolute if (n.module or "") <= module]
    # next to the app imports, in order: after the last one that sorts before it
    anchor = before[-1] if before else absolute[0] if absolute else tops[-1] if tops else None
    at = 0 if anchor is None else (anchor.end_lineno if before or not absolute else anchor.lineno - 1)
    if anchor is None and tree.body and isinstance(tree.body[0], ast.Expr):
        at = tree.body[0].end_lineno
    new = "".join(f"from {m} import {', '.join(sorted(ns))}\n" for m, ns in by_mod.items())
    if not absolute and tops:
        new = "\n" + new  # a block of its own after the third-party imports
    lines[at:at] = [new]
    return "".join(lines)


def dotted_and_paths(text: str) -> str:
    # names that moved out of a module first, then modules
    for (mod, name), dest in SYMBOL_MOVES.items():
        text = re.sub(rf"\bapp\.services\.instances\.{name}\b", f"{dest}.{name}", text)
    old_alt = "|".join(sorted((o for o in OLD if new_dotted(o) != f"app.services.{o}"), key=len, reverse=True))
    text = re.sub(rf"\bapp\.services\.({old_alt})\b(?!\.py)", lambda m: new_dotted(m.group(1)), text)
    text = re.sub(
        rf"(?<![\w./])services\.({old_alt})\b(?!\.py)", lambda m: new_dotted(m.group(1)).removeprefix("app."), text
    )
    text = re.sub(
        rf"\b((?:app/)?)services/({old_alt})\.py\b",
        lambda m: m.group(1) + str(new_path(m.group(2))).removeprefix("app/"),
        text,
    )
    # renamed modules whose old names are no ordinary words, in prose ("see refcache", "instance_view.py")
    distinct = "|".join(n for n in DISTINCT_RENAMES if n in OLD)
    text = re.sub(rf"(?<![\w./-])({distinct})\b(?![\w.]*\.html)", lambda m: MOVES[m.group(1)][1], text)
    return text


DISTINCT_RENAMES = ("instance_view", "auditlog", "refcache")


# --- 4. "ready" -------------------------------------------------------------------------------------

READY_DEF = 'TASK_READY = "ready"   # the status of a human task someone has to do (the inbox shows these)\n'


def ensure_ready_constant() -> None:
    path = Path("app/models/workflow.py")
    text = path.read_text(encoding="utf-8")
    if "TASK_READY" in text:
        return
    text = text.replace("\n\nclass HumanTask(", "\n\n" + READY_DEF + "\n\nclass HumanTask(", 1)
    text = re.sub(r'(status: Mapped\[str\] = mapped_column\(String\(16\), default=)"ready"', r"\1TASK_READY", text)
    path.write_text(text, encoding="utf-8")
    say(f"define TASK_READY in {path}")


def replace_ready(path: Path, text: str) -> str:
    if path.as_posix() == "app/models/workflow.py" or '"ready"' not in text:
        return text
    tree = ast.parse(text)
    edit = FileEdit(path, text)

    def is_status(expr: ast.AST) -> bool:
        return isinstance(expr, ast.Attribute) and expr.attr == "status"

    for node in ast.walk(tree):
        consts: list[ast.Constant] = []
        if isinstance(node, ast.Compare) and (is_status(node.left) or any(is_status(c) for c in node.comparators)):
            consts = [c for c in [node.left, *node.comparators] if isinstance(c, ast.Constant) and c.value == "ready"]
        elif isinstance(node, ast.Dict):
            consts = [
                v
                for k, v in zip(node.keys, node.values)
                if isinstance(k, ast.Constant)
                and k.value == "status"
                and isinstance(v, ast.Constant)
                and v.value == "ready"
            ]
        elif (
            isinstance(node, ast.Assign)
            and isinstance(node.targets[0], ast.Tuple)
            and isinstance(node.value, ast.Tuple)
        ):
            consts = [
                v
                for t, v in zip(node.targets[0].elts, node.value.elts)
                if is_status(t) and isinstance(v, ast.Constant) and v.value == "ready"
            ]
        elif (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and is_status(node.targets[0])
            and isinstance(node.value, ast.Constant)
            and node.value.value == "ready"
        ):
            consts = [node.value]
        elif (
            isinstance(node, ast.Assign)
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id == "TASK_STATUSES"
            and isinstance(node.value, ast.Tuple)
        ):
            consts = [v for v in node.value.elts if isinstance(v, ast.Constant) and v.value == "ready"]
        for c in consts:
            edit.replace_node(c, "TASK_READY")
    if not edit.edits:
        return text
    out = edit.apply()
    return ensure_imports(out, [("app.models.workflow", "TASK_READY")])


# --- 5. docs, pyproject, Makefile --------------------------------------------------------------------

ARCH_ROWS = """| `app/services/evaluation/` | the monthly evaluation: open a month, instances and their projections, tasks and the inbox, plans, decisions and the quota, appeals, absence, evidence, comments, operations, timers, overdue notices, the instance and record pages' data | `engine`, `rules`, `forms`, models, the other service packages |
| `app/services/organisation/` | people and units: sign-in, activation, SSO, preferences; who may see or do what (`access`, `authority`, `delegation`); where a person works (`membership`, `transfers`); the organisation import; the header menu | models, `rules` |
| `app/services/regulation/` | the regulation's data administrators keep: scoring schemes, the working-day calendar | models, `rules` |
| `app/services/reporting/` | reading many records: dashboard and monthly summary, filtered lists, roll-up, Excel/CSV exports, the audit-trail export | models, `rules`, `evaluation` |
| `app/services/process_design/` | the process itself: drafts, simulation before publishing, published versions | `engine`, models |
| `app/services/messaging/` | notifications, the mail outbox, e-mail address checks | models |
| `app/services/*.py` | what every package uses: `transaction` (the only commit), `unit_of_work`, `errors`, `audit` (append an event), `bulk_insert`, `reference_cache`, `metrics` | models |
| `app/labels.py` | the names of record statuses and audit actions (catalog msgids), for pages, exports and messages | `i18n` |
"""


SERVICES_DOC = """

Grouped by what they are about (docs/architecture.md, "Where code lives"): `evaluation`, `organisation`,
`regulation`, `reporting`, `process_design`, `messaging`; at this level, what every package uses:
`transaction` (the only place that commits), `unit_of_work`, `errors`, `audit`, `bulk_insert`,
`reference_cache`, `metrics`."""


def update_services_doc() -> None:
    path = SERVICES / "__init__.py"
    text = path.read_text(encoding="utf-8") if path.exists() else '"""Use cases, no HTTP."""\n'
    if "process_design" in text or not text.startswith('"""'):
        return
    end = text.index('"""', 3)
    path.write_text(text[:end].rstrip() + SERVICES_DOC + text[end:], encoding="utf-8")
    say(f"describe the packages in {path}")


def update_architecture() -> None:
    path = Path("docs/architecture.md")
    if not path.exists():
        say(f"skip: {path} does not exist")
        return
    text = path.read_text(encoding="utf-8")
    if "`app/services/evaluation/`" in text:
        return
    new, n = re.subn(r"^\| `app/services/` \|.*\n", ARCH_ROWS, text, count=1, flags=re.M)
    if n:
        path.write_text(new, encoding="utf-8")
        say(f"rewrite the app/services/ row of {path}")
    else:
        say(f"NOTE: no `app/services/` row in {path}'s table; add the package rows by hand")


RUFF_FORMAT = """
[tool.ruff.format]
# `ruff format` keeps the line length above (120) and the code's double quotes; magic trailing commas
# keep a list written one item per line as it is.
quote-style = "double"
indent-style = "space"
skip-magic-trailing-comma = false
line-ending = "lf"
"""


def update_tooling() -> None:
    pyproject = Path("pyproject.toml")
    text = pyproject.read_text(encoding="utf-8")
    if "[tool.ruff.format]" not in text:
        text = text.replace("\n[tool.ruff.lint]\n", RUFF_FORMAT + "\n[tool.ruff.lint]\n", 1)
        pyproject.write_text(text, encoding="utf-8")
        say("pyproject.toml: [tool.ruff.format]")
    makefile = Path("Makefile")
    text = makefile.read_text(encoding="utf-8")
    if "ruff format --check" not in text:
        text = re.sub(
            r"^(\t\$\(BIN\)/ruff check app tests bench scripts migrations\n)",
            r"\1\t$(BIN)/ruff format --check app tests bench scripts migrations\n",
            text,
            count=1,
            flags=re.M,
        )
        makefile.write_text(text, encoding="utf-8")
        say("Makefile: lint runs `ruff format --check`")


def reformat() -> None:
    """`ruff format` the tree. It splits a long `from x import (a, b,  # noqa: F401` one name per line,
    which leaves the directive on one line only: the fixtures a test module imports for pytest get
    their directive back on their own lines, and a directive left with nothing to silence goes."""
    ruff = [sys.executable, "-m", "ruff"]
    subprocess.run([*ruff, "format", *ROOTS], check=False)
    subprocess.run([*ruff, "check", "--quiet", "--select", "F401", "--add-noqa", *ROOTS], check=False)
    subprocess.run(
        [*ruff, "check", "--quiet", "--fix", "--select", "F401,RUF100", "--unfixable", "F401", *ROOTS], check=False
    )
    subprocess.run([*ruff, "format", "--quiet", *ROOTS], check=False)


# --- main -------------------------------------------------------------------------------------------


def python_files() -> list[Path]:
    files = [p for root in ROOTS if Path(root).exists() for p in Path(root).rglob("*.py")]
    files += list(Path(".").glob("*.py"))
    skip = ("app/static/", "node_modules/", ".venv/")
    return sorted(p for p in files if not any(p.as_posix().startswith(s) for s in skip))


def prose_files() -> list[Path]:
    out = [Path("README.md")] if Path("README.md").exists() else []
    if Path("docs").exists():
        out += sorted(Path("docs").rglob("*.md"))
    return out


def leftovers() -> None:
    old_alt = "|".join(sorted((o for o in OLD if new_dotted(o) != f"app.services.{o}"), key=len, reverse=True))
    pattern = rf"app\.services\.({old_alt})\b|services/({old_alt})\.py|from app\.services import .*\b({old_alt})\b"
    found = git("grep", "-nE", pattern, "--", *ROOTS, "README.md", "docs", "*.py", ":!scripts/relayout.py", check=False)
    rel = subprocess.run(
        ["git", "grep", "-nE", rf"^\s*from \.+({old_alt})? import", "--", "app/services"],
        capture_output=True,
        text=True,
    ).stdout
    stale = []
    for line in rel.splitlines():
        file, _, rest = line.partition(":")
        m = re.search(r"from (\.+)(\w*) import (.*)", rest)
        if not m:
            continue
        level, mod = len(m.group(1)), m.group(2)
        target = resolve_relative(Path(file), level, mod or None) or ""
        names = [n.strip().split(" as ")[0] for n in m.group(3).strip("()").split(",") if n.strip()]
        if (mod and not exists_module(target)) or (
            not mod and not all(exists_module(f"{target}.{n}") or not n.isidentifier() for n in names)
        ):
            stale.append(line)
    labels = git(
        "grep",
        "-nE",
        r"instances\.(STATUS_LABELS|ACTION_LABELS)|instances import .*_LABELS",
        "--",
        *ROOTS,
        ":!scripts/relayout.py",
        check=False,
    )
    ready = git("grep", "-n", '"ready"', "--", "app/services", "app/web", check=False)
    if found or stale or labels:
        say("\nREFERENCES TO OLD PATHS LEFT (look at each):")
        for block in (found, "\n".join(stale), labels):
            if block.strip():
                say(block.rstrip())
    else:
        say("\nno reference to an old path is left (git grep)")
    if ready.strip():
        say('\n"ready" literals left in app/services and app/web (not task-state checks, or by hand):')
        say(ready.rstrip())


IMPORT_ALL = """
import importlib, pkgutil, sys, traceback
import app
bad = 0
for info in pkgutil.walk_packages(app.__path__, "app."):
    try:
        importlib.import_module(info.name)
    except Exception:
        bad += 1
        print("IMPORT FAILS:", info.name, traceback.format_exc(limit=1).strip().splitlines()[-1])
print(f"imported every module under app/ ({bad} failed)")
"""


def check_imports() -> None:
    """Every module of the app imports (a wrong rewrite shows here, not in the middle of the suite)."""
    subprocess.run([sys.executable, "-c", IMPORT_ALL], check=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="say what would move; change nothing")
    parser.add_argument("--format", action="store_true", help="run `ruff format` over the tree at the end")
    parser.add_argument(
        "--move",
        action="append",
        default=[],
        metavar="OLD=PACKAGE/NEW",
        help="one more module to move, e.g. --move listing=reporting/listing "
        "(PACKAGE empty for the top level: --move clock=/clock); repeatable",
    )
    args = parser.parse_args()
    for spec in args.move:
        m = re.fullmatch(r"(\w+)=(\w*)/(\w+)", spec)
        if not m:
            parser.error(f"--move {spec}: expected OLD=PACKAGE/NEW")
        if m.group(2) and m.group(2) not in PACKAGES:
            parser.error(f"--move {spec}: no package {m.group(2)} (one of {', '.join(PACKAGES)})")
        MOVES[m.group(1)] = (m.group(2), m.group(3))
        OLD.add(m.group(1))
    if not SERVICES.is_dir() or not Path(".git").exists():
        say("run this from the repository root")
        return 2
    move_files(args.dry_run)
    if args.dry_run:
        return 0
    move_labels(False)
    ensure_ready_constant()
    changed = 0
    for path in python_files():
        if path.as_posix() == "scripts/relayout.py":
            continue
        text = path.read_text(encoding="utf-8")
        out, notes = rewrite_imports(path, text)
        for note in notes:
            say(note)
        if path.as_posix().startswith("app/") and not path.as_posix().startswith("app/models/"):
            out = replace_ready(path, out)
        out = dotted_and_paths(out)
        if out != text:
            try:
                ast.parse(out)
            except SyntaxError as exc:
                say(f"ERROR: rewriting {path} gave invalid Python ({exc}); left unchanged")
                continue
            path.write_text(out, encoding="utf-8")
            changed += 1
    for path in prose_files():
        text = path.read_text(encoding="utf-8")
        out = dotted_and_paths(text)
        if out != text:
            path.write_text(out, encoding="utf-8")
            changed += 1
    if SYMBOLS_MOVED_IN:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "ruff",
                "check",
                "--quiet",
                "--fix",
                "--select",
                "F401",
                *map(str, SYMBOLS_MOVED_IN),
            ],
            check=False,
        )
    update_architecture()
    update_services_doc()
    update_tooling()
    say(f"rewrote {changed} files")
    if args.format:
        reformat()
    leftovers()
    check_imports()
    return 0


if __name__ == "__main__":
    sys.exit(main())
