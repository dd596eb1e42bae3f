"""The breaking-change check: the current OpenAPI document against the
committed snapshot, through Optic's breaking-changes ruleset.

A breaking change (an operation, parameter, status or field removed, a type
narrowed in a request or widened in an answer, an enum value dropped, a field
made required in a request or optional in an answer) fails unless
info.version changed with it: the document is compared with the first
snapshot committed under its info.version (git history), so rewriting the
snapshot does not make a breaking change pass. Any difference from the
working snapshot fails too, as a stale snapshot: it must follow the document,
or later removals of what it lacks would go unseen.
`scripts/contract.sh --update-snapshot` rewrites it.

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
import tempfile
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
        failures.append({"group": "breaking: no snapshot", "where": str(args.snapshot), "message": f"run {UPDATE}"})
        return finish(args.out, failures, notes)

    snapshot = json.loads(args.snapshot.read_text())
    current = json.loads(args.current.read_text())
    version = current["info"]["version"]
    if snapshot != current:
        failures.append(
            {
                "group": "snapshot out of date",
                "where": args.snapshot.name,
                "message": f"the document changed since the snapshot; after review, run {UPDATE}",
            }
        )

    # Breaking changes are measured from the first snapshot ever committed
    # with this info.version, so updating the snapshot cannot hide one.
    base, label = first_snapshot_of(args.snapshot, version)
    if base is None:
        notes.append(f"info.version {version} is new: no breaking-change check until its snapshot is committed")
        return finish(args.out, failures, notes)
    if base == current:
        notes.append(f"no change since the {label} (info.version {version})")
        return finish(args.out, failures, notes)

    with tempfile.TemporaryDirectory() as scratch:
        base_file = Path(scratch) / "base.json"
        base_file.write_text(json.dumps(base))
        env = dict(os.environ, OPTIC_TELEMETRY_LEVEL="none", NO_COLOR="1", FORCE_COLOR="0")
        # Optic writes ci-run-details.json where it runs (under CI=true): a
        # scratch folder, not the clone.
        run = subprocess.run(
            [args.optic, "diff", str(base_file), str(Path(args.current).resolve()), "--check"],
            capture_output=True,
            text=True,
            env=env,
            cwd=scratch,
            timeout=900,
        )
    output = strip_ansi(run.stdout + run.stderr)
    breaking = parse_optic(output)
    if run.returncode != 0 and not breaking:
        failures.append({"group": "breaking: optic failed", "where": "optic diff", "message": output[-2000:]})
    for where, rule, message in breaking:
        failures.append(
            {
                "group": f"breaking change without a new info.version (still {version}, since the {label})",
                "where": where,
                "message": f"[{rule}] {message}",
            }
        )
    if not breaking:
        notes.append(f"changes since the {label} are compatible")
    return finish(args.out, failures, notes, output)


def first_snapshot_of(path: Path, version: str) -> tuple[dict | None, str]:
    """The oldest committed snapshot with this info.version, else the working
    one when it has it; None for a version no snapshot has had yet."""
    root = path.resolve().parent
    relative = subprocess.run(
        ["git", "-C", str(root), "ls-files", "--full-name", path.name], capture_output=True, text=True
    ).stdout.strip()
    commits = subprocess.run(
        ["git", "-C", str(root), "log", "--reverse", "--format=%H", "--", path.name],
        capture_output=True,
        text=True,
    ).stdout.split()
    for commit in commits:
        shown = subprocess.run(["git", "-C", str(root), "show", f"{commit}:{relative}"], capture_output=True, text=True)
        if shown.returncode != 0:
            continue
        try:
            doc = json.loads(shown.stdout)
        except ValueError:
            continue
        if doc.get("info", {}).get("version") == version:
            return doc, f"snapshot of commit {commit[:10]}"
    working = json.loads(path.read_text())
    if working.get("info", {}).get("version") == version:
        return working, "working snapshot"
    return None, ""


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
