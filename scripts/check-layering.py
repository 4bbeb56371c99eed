#!/usr/bin/env python3
"""Checks the layering rules of docs/design.md §3 on the project's #include lines.

  python3 scripts/check-layering.py [REPO_ROOT]

Rules (each names the files that break it):
  top-level   a top-level folder includes only itself, common/ and the folders below it in
              LOWER (common is the bottom; the CLI and the worker talk to the scheduler over HTTP).
  policy      scheduler/policy/ includes only itself and common/: a policy is a pure function of
              its snapshot (it is shared with the simulator).
  audit       scheduler/audit/ includes only itself and common/: audit decisions (trust, plans,
              arbitration, rollback) are pure, testable without a store or a server.
  kernels     kernels/ does not include the job spec (common/spec/job_spec.h, common/spec/) beyond
              the dependency-free common/spec/enums.h.
  wire        common/ outside common/wire/ does not include common/wire/ (shoal_wire links
              shoal_common, so the reverse would be a cycle between the two libraries).
  registry    likewise, common/ outside common/registry/ does not include common/registry/
              (shoal_registry_formats links shoal_common).
  cycles      no include cycle between the subfolders of scheduler/ or of worker/ (a main.cc,
              which wires its binary together, is left out).
  size        no source file in scheduler/ over MAX_LINES lines.

Known violations are listed in KNOWN with the reason they still stand; the check fails on any
other violation, and also when a known one is gone (so that the list only shrinks). Exit 0 when
clean, 1 with the violations printed.
"""
import os
import re
import sys

MAX_LINES = 600
SOURCE_DIRS = ["common", "kernels", "data", "models", "worker", "scheduler", "cli", "bench"]
EXTENSIONS = (".h", ".cc", ".cu", ".cuh")
# What each top-level folder may include besides itself and common/.
LOWER = {
    "common": set(),
    "kernels": set(),
    "data": set(),
    "models": {"kernels"},
    "worker": {"kernels", "data", "models"},
    "scheduler": set(),
    "cli": {"data"},
    "bench": {"kernels", "data", "models", "worker", "scheduler"},
}
# (rule, subject) -> why it still stands. Remove an entry when its violation is fixed.
KNOWN = {}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def sources(root):
    for top in SOURCE_DIRS:
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for name in files:
                if name.endswith(EXTENSIONS):
                    path = os.path.join(dirpath, name)
                    yield os.path.relpath(path, root).replace(os.sep, "/")


def includes(root, rel):
    with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as f:
        lines = f.readlines()
    found = []
    for line in lines:
        m = INCLUDE.match(line)
        if m and os.path.exists(os.path.join(root, m.group(1))):
            found.append(m.group(1))  # project headers only (by their repo-relative path)
    return found, len(lines)


def folder(path, top):
    """scheduler/api/x.h -> scheduler/api; scheduler/x.h -> scheduler (the top folder's root)."""
    parts = path.split("/")
    return "/".join(parts[:2]) if len(parts) > 2 and parts[0] == top else parts[0]


def find_cycles(edges):
    """Pairs of folders that reach each other, as 'a <-> b' (a < b)."""
    nodes = set(edges) | {d for ds in edges.values() for d in ds}
    reach = {}
    for n in nodes:
        seen, stack = set(), [n]
        while stack:
            for d in edges.get(stack.pop(), ()):
                if d not in seen:
                    seen.add(d)
                    stack.append(d)
        reach[n] = seen
    return {f"{a} <-> {b}" for a in nodes for b in reach[a] if a < b and a in reach.get(b, ())}


def check(root):
    violations = {}  # (rule, subject) -> detail

    def flag(rule, subject, detail):
        violations.setdefault((rule, subject), detail)

    folder_edges = {"scheduler": {}, "worker": {}}
    for rel in sorted(sources(root)):
        top = rel.split("/")[0]
        incs, nlines = includes(root, rel)
        for inc in incs:
            inc_top = inc.split("/")[0]
            if inc_top not in (top, "common") and inc_top not in LOWER.get(top, set()) \
                    and inc_top in LOWER:
                flag("top-level", rel, f"includes {inc}")
            if rel.startswith("scheduler/policy/") and not (
                    inc.startswith("scheduler/policy/") or inc_top == "common"):
                flag("policy", rel, f"includes {inc}")
            if rel.startswith("scheduler/audit/") and not (
                    inc.startswith("scheduler/audit/") or inc_top == "common"):
                flag("audit", rel, f"includes {inc}")
            if top == "kernels" and (inc == "common/spec/job_spec.h" or (
                    inc.startswith("common/spec/") and inc != "common/spec/enums.h")):
                flag("kernels", rel, f"includes {inc}")
            if top == "common" and not rel.startswith("common/wire/") and \
                    inc.startswith("common/wire/"):
                flag("wire", rel, f"includes {inc}")
            if top == "common" and not rel.startswith("common/registry/") and \
                    inc.startswith("common/registry/"):
                flag("registry", rel, f"includes {inc}")
            # A main.cc is its binary's composition root: it wires every folder together.
            if top in folder_edges and inc_top == top and not rel.endswith("/main.cc"):
                a, b = folder(rel, top), folder(inc, top)
                if a != b:
                    folder_edges[top].setdefault(a, set()).add(b)
        if top == "scheduler" and nlines > MAX_LINES:
            flag("size", rel, f"{nlines} lines (at most {MAX_LINES})")
    for edges in folder_edges.values():
        for cycle in find_cycles(edges):
            flag("cycles", cycle, "the two folders include each other (directly or not)")
    return violations


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    violations = check(root)
    problems = []
    for key, detail in sorted(violations.items()):
        if key not in KNOWN:
            problems.append(f"{key[0]}: {key[1]}: {detail}")
    for key in sorted(KNOWN):
        if key not in violations:
            problems.append(f"{key[0]}: {key[1]}: fixed: remove it from KNOWN in {__file__}")
    for key in sorted(k for k in KNOWN if k in violations):
        print(f"known: {key[0]}: {key[1]}: {violations[key]} ({KNOWN[key]})")
    if problems:
        print("layering rules broken (docs/design.md §3):")
        for p in problems:
            print("  " + p)
        return 1
    print(f"layering ok ({len(KNOWN)} known exceptions)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
