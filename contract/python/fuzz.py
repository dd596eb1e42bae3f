"""schemathesis against one running server: every check, every phase
(examples, coverage, fuzzing, stateful links), as the admin, with the given
seed. Writes the failures, one per check, operation and distinct message, so
summary.py can group them; the raw reports stay in --work.

Replaying one run: `st --config-file contract/schemathesis.toml run
URL/api/v1/openapi.json --seed SEED -n EXAMPLES` against a server started as
scripts/contract.sh starts it."""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "contract" / "schemathesis.toml"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--venv", type=Path, required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--seed", required=True)
    parser.add_argument("--examples", required=True)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    args.work.mkdir(parents=True, exist_ok=True)
    admin_id, decoy_id = prepare(args.url)
    command = [
        str(args.venv / "bin" / "st"),
        "--config-file",
        str(CONFIG),
        "run",
        f"{args.url}/api/v1/openapi.json",
        "--seed",
        str(args.seed),
        "--max-examples",
        str(args.examples),
        "--report",
        "ndjson,json,junit",
        "--report-dir",
        str(args.work),
        "--no-color",
    ]
    env = dict(
        os.environ,
        SCHEMATHESIS_HOOKS="contract_hooks",
        PYTHONPATH=str(Path(__file__).parent),
        AEGIS_CONTRACT_ADMIN_ID=admin_id,
        AEGIS_CONTRACT_DECOY_ID=decoy_id,
    )
    with open(args.work / "output.txt", "w") as output:
        # Its example database (.schemathesis/) goes in the work folder, not the clone.
        run = subprocess.run(command, stdout=output, stderr=subprocess.STDOUT, env=env, cwd=args.work, timeout=3600)
    stack = os.environ.get("AEGIS_CONTRACT_STACK", "-")
    failures, summary = read_reports(args.work)
    if run.returncode != 0 and not failures:
        tail = (args.work / "output.txt").read_text()[-3000:]
        failures.append({"group": "schemathesis: run failed", "where": "st run", "message": tail})
    result = {
        "part": f"schemathesis seed {args.seed}",
        "stack": stack,
        "failures": failures,
        "summary": summary,
        "notes": [f"replay: AEGIS_CONTRACT_SEED={args.seed} scripts/contract.sh --stack {stack} --only fuzz"],
    }
    args.out.write_text(json.dumps(result, indent=2))
    return 1 if failures else 0


def prepare(url: str) -> tuple[str, str]:
    """The admin's id and a second admin's, for the hook that keeps the fuzzer
    from resetting its own password (contract_hooks.py)."""
    import httpx

    password = os.environ["AEGIS_CONTRACT_ADMIN_PASSWORD"]
    with httpx.Client(base_url=url, timeout=30) as http:
        login = http.post("/api/v1/auth/login", json={"username": "admin", "password": password})
        login.raise_for_status()
        http.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        admin_id = login.json()["user"]["id"]
        users = http.get("/api/v1/users", params={"limit": 500}).json()["items"]
        decoy = next((u for u in users if u["username"] == "contract-decoy"), None)
        if decoy is None:
            decoy = http.post(
                "/api/v1/users",
                json={"username": "contract-decoy", "role": "admin", "password": password + "-decoy"},
            ).json()
        return admin_id, decoy["id"]


def read_reports(work: Path) -> tuple[list[dict], str]:
    """Failures from the NDJSON event stream, reduced to what identifies a
    fault rather than the generated data, so its repeats count once: a schema
    mismatch by the schema place and the answer's status, a refused valid
    request by the server's problem code and detail, anything else by the
    check's message. Each keeps the operations it was seen on."""
    failures: dict[tuple[str, str, str], dict] = {}
    ndjson = next(work.glob("*.ndjson"), None)
    for line in ndjson.read_text().splitlines() if ndjson else []:
        finished = json.loads(line).get("ScenarioFinished")
        if not finished:
            continue
        recorder = finished.get("recorder") or {}
        for case_id, checks in (recorder.get("checks") or {}).items():
            for check in checks:
                if check.get("status") != "failure":
                    continue
                failure = (check.get("failure_info") or {}).get("failure") or {}
                interaction = (recorder.get("interactions") or {}).get(case_id) or {}
                operation = failure.get("operation") or recorder.get("label") or "?"
                group = f"schemathesis {failure.get('code', '')} {failure.get('title') or check.get('name')} ({check.get('name')})"
                where, message, answer = describe(failure, interaction, operation)
                if answer:
                    operation = f"{operation} ({answer})"
                entry = failures.setdefault(
                    (group, where, message), {"group": group, "where": where, "message": message, "operations": []}
                )
                if operation not in entry["operations"]:
                    entry["operations"].append(operation)
    summary = ""
    report = next(work.glob("*.json"), None)
    if report is not None:
        doc = json.loads(report.read_text())
        ops = doc.get("operations") or {}
        cases = doc.get("test_cases") or {}
        summary = (
            f"{ops.get('tested')}/{ops.get('selected')} operations, {cases.get('generated')} cases, "
            f"{cases.get('unique_failures')} unique failures"
        )
        for error in doc.get("errors", []):
            failures.setdefault(
                ("error", error["title"], ""),
                {"group": "schemathesis: errors", "where": error["title"], "message": f"{error['count']} time(s)"},
            )
    return list(failures.values()), summary


def describe(failure: dict, interaction: dict, operation: str) -> tuple[str, str, str]:
    """(where, message, status of the answer when the message leaves it out) of one failure."""
    message = failure.get("message") or ""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    if failure.get("type") == "JsonSchemaError":
        schema = re.search(r"Schema at (\S+?):?$", message, re.M)
        status = re.search(r"for status code (\d+)", message)
        where = schema.group(1) if schema else operation
        return where, generalise(lines[0]), (status.group(1) if status else "")
    response = interaction.get("response") or {}
    answer = ""
    if response:
        answer = f"answer {response.get('status_code')}"
        body = decode(response.get("content"))
        if isinstance(body, dict) and "code" in body:
            answer += f" {body.get('code')}: {body.get('detail', '')}"
    first = lines[0] if lines else failure.get("type", "")
    if failure.get("type") == "RejectedPositiveData":
        first = "a schema-valid request was refused"
    return operation, generalise(f"{first}; {answer}" if answer else first), ""


def decode(content):
    if isinstance(content, dict) and "$base64" in content:
        try:
            return json.loads(base64.b64decode(content["$base64"]))
        except ValueError:
            return None
    return None


def generalise(text: str) -> str:
    text = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<uuid>", text)
    return text[:400]


if __name__ == "__main__":
    sys.exit(main())
