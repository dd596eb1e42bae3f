"""The breaking-change check: the current OpenAPI document against the
committed snapshot, through Optic's breaking-changes ruleset.

A breaking change (an operation, parameter, status or field removed, a type
narrowed in a request or widened in an answer, an enum value dropped, a field
made required in a request or optional in an answer) fails unless
info.version changed with it. Any other difference fails too, as a stale
snapshot: the snapshot must follow the document, or later removals of what it
lacks would go unseen. `scripts/contract.sh --update-snapshot` rewrites it.

Why Optic: of the diff tools this machine can install (npm, PyPI, crates.io,
Debian; oasdiff is Go), it is the one whose rules cover what generated clients
break on: parameters, nullability and response fields as well as operations.
Atlassian's openapi-diff compares bodies only (no parameters, and `nullable`
is ignored), api-smart-diff calls a response field's type change
non-breaking, and pb33f's openapi-changes downloads a Go binary at install.
Optic's repository is archived: package-lock.json pins it, and an override
keeps its dependencies on one ajv (two copies break its start-up).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

UPDATE = "scripts/contract.sh --update-snapshot"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--snapshot", type=Path, required=True)
    parser.add_argument("--current", type=Path, required=True)
    parser.add_argument("--optic", required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    failures: list[dict] = []
    notes: list[str] = []
    if not args.snapshot.is_file():
        failures.append(
            {"group": "breaking: no snapshot", "where": str(args.snapshot), "message": f"run {UPDATE}"}
        )
        return finish(args.out, failures, notes)

    before = json.loads(args.snapshot.read_text())
    after = json.loads(args.current.read_text())
    if before == after:
        notes.append(f"the document matches the snapshot (info.version {after['info']['version']})")
        return finish(args.out, failures, notes)

    v_before, v_after = before["info"]["version"], after["info"]["version"]
    env = dict(os.environ, OPTIC_TELEMETRY_LEVEL="none", NO_COLOR="1", FORCE_COLOR="0")
    run = subprocess.run(
        [args.optic, "diff", str(args.snapshot), str(args.current), "--check"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    output = strip_ansi(run.stdout + run.stderr)
    breaking = parse_optic(output)
    if run.returncode != 0 and not breaking:
        failures.append({"group": "breaking: optic failed", "where": "optic diff", "message": output[-2000:]})
        return finish(args.out, failures, notes)

    if breaking and v_before == v_after:
        for where, rule, message in breaking:
            failures.append(
                {
                    "group": f"breaking change without a new info.version ({v_after})",
                    "where": where,
                    "message": f"[{rule}] {message}",
                }
            )
    elif breaking:
        notes.append(
            f"{len(breaking)} breaking change(s) come with info.version {v_before} -> {v_after}"
        )
    failures.append(
        {
            "group": "snapshot out of date",
            "where": str(args.snapshot.name),
            "message": f"the document changed since the snapshot; after review, run {UPDATE}",
        }
    )
    return finish(args.out, failures, notes, output)


def parse_optic(output: str) -> list[tuple[str, str, str]]:
    """(operation, rule, message) for every failed check in Optic's text output."""
    found = []
    operation = "document"
    for line in output.splitlines():
        head = re.match(r"^\s*[x✔]\s+((?:GET|PUT|POST|DELETE|PATCH|HEAD|OPTIONS|TRACE) \S+?):", line)
        if head:
            operation = head.group(1)
            continue
        check = re.match(r"^\s*x \[([^\]]+)\]\s*(.*)$", line)
        if check:
            found.append((operation, check.group(1), check.group(2).strip()))
    return found


def strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def finish(out: Path, failures: list[dict], notes: list[str], raw: str = "") -> int:
    out.write_text(
        json.dumps({"part": "breaking", "stack": "-", "failures": failures, "notes": notes, "raw": raw}, indent=2)
    )
    for note in notes:
        print(f"[contract] breaking: {note}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
