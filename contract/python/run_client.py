"""Generates a Python client from the live OpenAPI document with
openapi-python-client, then drives the whole workflow through it
(workflow.py). Generator warnings (an operation or a schema left out) are
failures too. Usage: run_client.py --doc openapi.json --work DIR --out result.json"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--doc", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    args.work.mkdir(parents=True, exist_ok=True)
    config = args.work / "generator.yaml"
    # No formatting pass (ruff) over the generated code: it is read by no one.
    config.write_text("post_hooks: []\n")
    package = args.work / "aegis_client"
    generate = subprocess.run(
        [
            str(Path(sys.executable).parent / "openapi-python-client"),
            "generate",
            "--path",
            str(args.doc),
            "--output-path",
            str(package),
            "--meta",
            "none",
            "--overwrite",
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
    )
    output = generate.stdout + generate.stderr
    (args.work / "generate.log").write_text(output)
    failures = generator_warnings(output)
    stack = os.environ.get("AEGIS_CONTRACT_STACK", "-")
    if generate.returncode != 0 or not (package / "__init__.py").is_file():
        failures.append({"group": "python: generation failed", "where": "openapi-python-client", "message": output[-3000:]})
        return write(args.out, stack, failures, "not generated")

    sys.path.insert(0, str(args.work))
    sys.path.insert(0, str(HERE))
    workflow = importlib.import_module("workflow")
    run = workflow.Workflow(
        client=importlib.import_module("aegis_client"),
        base_url=os.environ["AEGIS_CONTRACT_URL"],
        admin_password=os.environ["AEGIS_CONTRACT_ADMIN_PASSWORD"],
        prefix="py",
    )
    run.drive()
    failures += run.failures
    summary = f"{run.passed} calls passed, {run.failed_steps} failed, {run.stopped} of 8 parts stopped early"
    return write(args.out, stack, failures, summary)


def generator_warnings(output: str) -> list[dict]:
    """Operations and schemas the generator left out, with its reason."""
    failures = []
    for block in re.split(r"\n(?=WARNING parsing |Unable to process schema )", output):
        head = re.match(r"WARNING parsing (\S+ \S+) within \S+\. Endpoint will not be generated\.\s*(.*)", block, re.S)
        if head:
            reason = head.group(2).strip().split("\n\n")[0]
            failures.append(
                {"group": "python: operation not generated", "where": head.group(1), "message": reason}
            )
        schema = re.match(r"Unable to process schema (\S+):\s*(.*)", block, re.S)
        if schema:
            reason = schema.group(2).strip().split("\n\n")[0]
            failures.append(
                {"group": "python: schema not generated", "where": schema.group(1), "message": reason}
            )
    return failures


def write(out: Path, stack: str, failures: list[dict], summary: str) -> int:
    out.write_text(json.dumps({"part": "python client", "stack": stack, "failures": failures, "summary": summary}, indent=2))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
