#!/usr/bin/env python3
"""The layering checks of the build, read off the object files.

  layers.py [--no-globals] OBJDIR...

For each OBJDIR (a CMake target's object directory): file A depends on file
B when A uses a symbol that B defines (`nm -P`). A cycle (files that call
each other in a loop, directly or not) is a failure: each component's
files must form a stack where a file calls only files below it.

With --no-globals, a symbol in .data or .bss (a mutable global or static)
is a failure too; constant tables (.rodata, .data.rel.ro) are fine.

Prints what it found and "N cycle(s), N mutable global(s)"; exit 1 when
either is not zero, 2 when an OBJDIR holds no object file.
"""
import os
import subprocess
import sys


def objects(d):
    for root, _, files in os.walk(d):
        for f in sorted(files):
            if f.endswith(".o"):
                yield os.path.join(root, f)


def symbols(o):
    out = subprocess.run(["nm", "-P", o], capture_output=True, text=True,
                         check=True).stdout
    defined, used = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        name, kind = parts[0], parts[1]
        if kind == "U":
            used.add(name)
        elif kind in "TDBRCVW":
            defined.add(name)
    return defined, used


def mutable_globals(o):
    out = subprocess.run(["objdump", "-t", o], capture_output=True, text=True,
                         check=True).stdout
    found = []
    for line in out.splitlines():
        parts = line.split()
        # value flags... section size name
        for i, p in enumerate(parts):
            if p in (".data", ".bss") or p.startswith((".data.", ".bss.")):
                if p.startswith(".data.rel.ro"):
                    break
                name = parts[-1]
                # the sanitizers' own bookkeeping is not the program's
                if "O" in parts[1:i] and i + 2 < len(parts) and \
                        not name.startswith(("__odr_asan", "__asan",
                                             "__ubsan", "__sancov")):
                    found.append(name)
                break
    return found


def cycles(nodes, edges):
    """Strongly connected components of more than one node (Tarjan)."""
    index, low, stack, on, out, n = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in nodes:
        if v not in index:
            visit(v)
    return out


def check(d, no_globals):
    objs = list(objects(d))
    if not objs:
        print(f"{d}: no object files")
        return None
    name = {o: os.path.basename(o)[:-2] for o in objs}
    info = {o: symbols(o) for o in objs}
    owner = {s: o for o, (defs, _) in info.items() for s in defs}
    edges, why = {}, {}
    for o, (_, used) in info.items():
        for s in used:
            b = owner.get(s)
            if b and b != o:
                edges.setdefault(o, set()).add(b)
                why.setdefault((o, b), []).append(s)
    found = cycles(objs, edges)
    for comp in found:
        print(f"{d}: cycle: " + ", ".join(name[o] for o in comp))
        for a in comp:
            for b in sorted(edges.get(a, ())):
                if b in comp:
                    syms = ", ".join(sorted(why[(a, b)])[:6])
                    print(f"  {name[a]} -> {name[b]}: {syms}")
    bad = []
    if no_globals:
        for o in objs:
            for g in mutable_globals(o):
                bad.append(g)
                print(f"{d}: mutable global: {name[o]}: {g}")
    print(f"{os.path.basename(d.rstrip('/'))}: {len(objs)} files, "
          f"{len(found)} cycle(s)" + (f", {len(bad)} mutable global(s)"
                                      if no_globals else ""))
    return len(found) + len(bad)


def main(argv):
    no_globals = "--no-globals" in argv
    dirs = [a for a in argv if not a.startswith("--")]
    if not dirs:
        print(__doc__)
        return 2
    total = 0
    for d in dirs:
        r = check(d, no_globals)
        if r is None:
            return 2
        total += r
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
