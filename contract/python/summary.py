"""The verdict of scripts/contract.sh: reads every part's result file and
prints one line per part, or with --details every failure grouped by kind
(a schemathesis check, a client step, a breaking change), then by the
schema or operation it is about. Exit 1 when anything failed."""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("results", type=Path)
    parser.add_argument("--details", action="store_true")
    args = parser.parse_args()

    parts = [json.loads(p.read_text()) for p in sorted(args.results.glob("*.json"))]
    if not parts:
        print("[contract] no part ran", file=sys.stderr)
        return 1
    total = 0
    print("\n== API contract")
    for part in parts:
        failures = part.get("failures", [])
        total += len(failures)
        label = f"{part['part']}" + (f" ({part['stack']})" if part.get("stack", "-") != "-" else "")
        extra = f" [{part['summary']}]" if part.get("summary") else ""
        print(f"  {'FAIL' if failures else 'ok  '} {label}: {len(failures)} failure(s){extra}")
        for note in part.get("notes", []):
            print(f"         {note}")

    if args.details and total:
        print_details(parts)
    elif total:
        print("\n  scripts/contract.sh --report lists every failure grouped by check, schema and operation.")
    print(f"\ncontract: {sum(1 for p in parts if not p.get('failures'))} passed, "
          f"{sum(1 for p in parts if p.get('failures'))} failed")
    return 1 if total else 0


def seen_by(origins: set[str]) -> str:
    """'schemathesis seed 1/sqlite', ... as 'schemathesis (seeds 1, 2) on shared, sqlite'."""
    parts: dict[str, tuple[set[str], set[str]]] = defaultdict(lambda: (set(), set()))
    for origin in origins:
        part, _, stack = origin.partition("/")
        name, _, seed = part.partition(" seed ")
        seeds, stacks = parts[name]
        if seed:
            seeds.add(seed)
        if stack:
            stacks.add(stack)
    out = []
    for name, (seeds, stacks) in sorted(parts.items()):
        label = name + (f" (seed {', '.join(sorted(seeds))})" if seeds else "")
        out.append(label + (f" on {', '.join(sorted(stacks))}" if stacks else ""))
    return "; ".join(out)


def print_details(parts: list[dict]) -> None:
    """Group → where → message, each with the operations it was seen on and
    the parts (part/stack) that saw it."""
    tree: dict = defaultdict(lambda: defaultdict(dict))
    for part in parts:
        origin = part["part"] + ("" if part.get("stack", "-") == "-" else f"/{part['stack']}")
        for f in part.get("failures", []):
            entry = tree[f["group"]][f["where"]].setdefault(f["message"], {"origins": set(), "operations": set()})
            entry["origins"].add(origin)
            entry["operations"].update(f.get("operations", []))
    print("\n== Failures, grouped")
    for group in sorted(tree):
        wheres = tree[group]
        print(f"\n## {group} ({len(wheres)} place(s))")
        for where in sorted(wheres):
            print(f"  - {where}")
            for message, entry in sorted(wheres[where].items()):
                text = message if len(message) < 800 else message[:800] + " ..."
                text = text.replace("\n", "\n        ")
                print(f"      {text}")
                ops = sorted(entry["operations"] - {where})
                if ops:
                    print(f"        on: {', '.join(ops)}")
                print(f"        seen by: {seen_by(entry['origins'])}")


if __name__ == "__main__":
    sys.exit(main())
