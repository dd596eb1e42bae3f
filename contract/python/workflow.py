"""The whole Aegis workflow through a client openapi-python-client generated
from the live document, with typed calls only: sign-in, users, an Atomic Red
Team import, a test through every transition with evidence both ways, the
blue outcome, coverage, KPIs, the Navigator layer, an alert rule, a report and
a plugin; then answers that must be errors, each of which must decode as the
`Problem` type.

Every call's answer must decode into the type the document gives for its
status, and the status must be the one the step expects. A failure is
recorded with the model and field that did not decode (or the server's
problem code), and the run goes on: when a successful answer does not decode,
later steps may read the ids and versions they need from the undecoded JSON,
only so that they can be tried too. Such a step has already failed; nothing
is ever sent except through the generated functions.
"""

from __future__ import annotations

import datetime
import enum
import importlib
import io
import json
import linecache
import os
import re
import time
import traceback
from pathlib import Path
from typing import Any

import attrs


class Blocked(Exception):
    """A step cannot run: something it needs is missing."""


class Raw:
    """Attribute access to an answer that did not decode (see the module doc)."""

    def __init__(self, value: Any) -> None:
        self._value = value

    def __getattr__(self, name: str) -> Any:
        value = self._value.get(name.rstrip("_")) if isinstance(self._value, dict) else None
        return Raw(value) if isinstance(value, (dict, list)) else value

    def __iter__(self):
        return (Raw(v) if isinstance(v, (dict, list)) else v for v in (self._value or []))

    def __getitem__(self, index):
        return Raw(self._value[index]) if isinstance(self._value[index], (dict, list)) else self._value[index]


def plain(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


class Workflow:
    def __init__(self, client, base_url: str, admin_password: str, prefix: str) -> None:
        self.pkg = client
        self.models = importlib.import_module(f"{client.__name__}.models")
        self.types = importlib.import_module(f"{client.__name__}.types")
        self.errors = importlib.import_module(f"{client.__name__}.errors")
        self.base_url = base_url
        self.admin_password = admin_password
        self.prefix = prefix
        self.failures: list[dict] = []
        self.passed = 0
        self.failed_steps = 0
        self.stopped = 0
        self.last_answer: tuple[int, bytes] | None = None
        self.shared = Path(os.environ.get("AEGIS_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))
        self.plugins = Path(os.environ.get("AEGIS_PLUGIN_BUILD_DIR", Path.home() / ".cache" / "aegis" / "plugins"))

    # --- plumbing -------------------------------------------------------------

    def client(self, token: str | None):
        hooks = {"response": [self._remember]}
        if token is None:
            return self.pkg.Client(base_url=self.base_url, raise_on_unexpected_status=True, httpx_args={"event_hooks": hooks})
        return self.pkg.AuthenticatedClient(
            base_url=self.base_url, token=token, raise_on_unexpected_status=True, httpx_args={"event_hooks": hooks}
        )

    def _remember(self, response) -> None:
        # For the failure message only: the status and body of the answer a
        # generated function could not decode.
        response.read()
        self.last_answer = (response.status_code, response.content)

    def model(self, name: str):
        found = getattr(self.models, name, None)
        if found is None:
            self.fail("python: model not generated", name, "the workflow needs it")
            raise Blocked(name)
        return found

    def fail(self, group: str, where: str, message: str, operation: str | None = None) -> None:
        entry = {"group": group, "where": where, "message": message}
        if operation:
            entry["operations"] = [operation]
        self.failures.append(entry)

    def call(self, step: str, tag: str, operation: str, expect: int, who, **kwargs) -> Any:
        """One typed call: `api.<tag>.<operation>.sync_detailed`, expecting `expect`."""
        before = len(self.failures)
        try:
            return self._call(step, tag, operation, expect, who, **kwargs)
        finally:
            if len(self.failures) > before:
                self.failed_steps += 1
            else:
                self.passed += 1

    def _call(self, step: str, tag: str, operation: str, expect: int, who, **kwargs) -> Any:
        try:
            module = importlib.import_module(f"{self.pkg.__name__}.api.{tag}.{operation}")
        except ImportError:
            self.fail("python: step impossible, operation not generated", operation, step)
            raise Blocked(operation) from None
        self.last_answer = None
        try:
            response = module.sync_detailed(client=who, **kwargs)
        except self.errors.UnexpectedStatus as e:
            self.fail(
                "python: answer status not in the document",
                operation,
                f"{step}: answer {e.status_code}: {e.content[:300].decode(errors='replace')}",
            )
            raise Blocked(operation) from None
        except Exception as e:  # a generated decoder raised on the answer
            return self._undecoded(step, operation, expect, e)
        status = int(response.status_code)
        if status != expect:
            problem = response.parsed
            said = f" {problem.code}: {problem.detail}" if hasattr(problem, "code") else ""
            self.fail("python: unexpected answer", operation, f"{step}: expected {expect}, got {status}{said}")
            raise Blocked(operation)
        parsed = response.parsed
        if expect >= 400:
            problem_type = self.model("Problem")
            if not isinstance(parsed, problem_type) or parsed.status != expect:
                self.fail("python: error answer is not a Problem", operation, f"{step}: {type(parsed).__name__}")
                return None
        return parsed if parsed is not None else response

    def _undecoded(self, step: str, operation: str, expect: int, error: Exception) -> Any:
        status, body = self.last_answer or (0, b"")
        where, line = self._decoder_place(error)
        kind = "an error answer does not decode as Problem" if status >= 400 else "a successful answer does not decode"
        self.fail(
            f"python: {kind}",
            where,
            f"{type(error).__name__}: {error} (at `{line}`)",
            operation=f"{operation} ({status})",
        )
        if status != expect or status >= 400:
            raise Blocked(operation)
        try:
            return Raw(json.loads(body))
        except ValueError:
            raise Blocked(operation) from None

    def _decoder_place(self, error: Exception) -> tuple[str, str]:
        """The model and field whose decoding raised, from the traceback."""
        model, field, line = "?", "?", ""
        for frame, lineno in traceback.walk_tb(error.__traceback__):
            if "/models/" in frame.f_code.co_filename:
                cls = frame.f_locals.get("cls")
                model = getattr(cls, "__name__", Path(frame.f_code.co_filename).stem)
                line = linecache.getline(frame.f_code.co_filename, lineno).strip()
                named = re.search(r'd\.pop\("([^"]+)"', line) or re.match(r"_?(\w+)\s*[:=]", line)
                field = named.group(1) if named else "?"
        return f"{model}.{field}", line

    def section(self, name: str, body) -> None:
        try:
            body()
        except Blocked as blocked:
            self.stopped += 1
            self.fail("python: workflow steps not reached", name, f"stopped at {blocked}")

    # --- the workflow ---------------------------------------------------------

    def drive(self) -> None:
        self.section("sign-in and users", self.users)
        if not hasattr(self, "red"):
            return
        self.section("template import, test, transitions, evidence", self.test_lifecycle)
        self.section("cancel from draft and from red_executing", self.cancels)
        self.section("coverage, KPIs, Navigator layer", self.coverage)
        self.section("alert rule create and evaluate", self.alerts)
        self.section("report generate and download", self.reports)
        self.section("plugin upload", self.plugins_upload)
        self.section("error answers decode as Problem", self.error_answers)

    def login(self, username: str, password: str):
        body = self.model("LoginRequest")(username=username, password=password)
        return self.call(f"login {username}", "auth", "login", 200, self.client(None), body=body)

    def users(self) -> None:
        admin = self.login("admin", self.admin_password)
        self.admin = self.client(admin.access_token)
        self.call("who am I", "auth", "get_me", 200, self.admin)
        role = self.model("Role")
        self.password = f"{self.prefix}-contract-password"
        stamp = str(int(time.time()))
        made = {}
        for key, value in [("lead", "lead"), ("red", "red_tech"), ("blue", "blue_tech"), ("viewer", "viewer")]:
            body = self.model("CreateUserRequest")(
                username=f"{self.prefix}-{key}-{stamp}", role=role(value), password=self.password, display_name=f"{key} ({self.prefix})"
            )
            user = self.call(f"create {value}", "users", "create_user", 201, self.admin, body=body)
            made[key] = user
        self.users_made = made
        self.call("list users", "users", "list_users", 200, self.admin, limit=100)
        for key, user in made.items():
            # A first sign-in: the user has never signed in before.
            reply = self.login(user.username, self.password)
            setattr(self, key, self.client(reply.access_token))
            setattr(self, f"{key}_id", user.id)

    def test_lifecycle(self) -> None:
        m = self.model
        atomic = self.shared / "atomic-red-team" / "T1059.001" / "T1059.001.yaml"
        File = self.types.File
        report = self.call(
            "import an Atomic Red Team file",
            "templates",
            "import_atomic",
            200,
            self.lead,
            body=m("ImportAtomicBody")(file=File(payload=io.BytesIO(atomic.read_bytes()), file_name=atomic.name, mime_type="application/yaml")),
        )
        if report.created + report.updated + report.unchanged < 1:
            self.fail("python: wrong answer", "import_atomic", "no template imported")
        page = self.call("list templates", "templates", "list_templates", 200, self.red, technique="T1059.001", limit=10)
        if not page.items:
            raise Blocked("no template")
        template = page.items[0]
        self.call("get template", "templates", "get_template", 200, self.red, id=template.id)
        test = self.call(
            "draft a test from the template",
            "templates",
            "create_test_from_template",
            201,
            self.red,
            id=template.id,
            body=m("FromTemplateInput")(
                name=f"{self.prefix} contract test", red_assignee_id=self.red_id, blue_assignee_id=self.blue_id, tags=["contract"]
            ),
        )
        tid = test.id
        self.test_id = tid
        self.expect_state(test, "draft")
        test = self.call("start execution", "tests", "start_test_execution", 200, self.red, id=tid)
        self.expect_state(test, "red_executing")

        red_bytes = b"red team output\n"
        red_ev = self.upload(self.red, tid, "red.txt", red_bytes, "what the red team saw")
        test = self.call("get test", "tests", "get_test", 200, self.red, id=tid)
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        test = self.call(
            "red fields",
            "tests",
            "update_test",
            200,
            self.red,
            id=tid,
            if_match=f'"{test.version}"',
            body=m("TestPatchInput")(executed_at=now, attack_outcome=m("AttackOutcome")("succeeded"), red_notes="ran it"),
        )
        test = self.call("submit to blue", "tests", "submit_test_to_blue", 200, self.red, id=tid)
        self.expect_state(test, "blue_evaluating")

        blue_bytes = b'{"alert": "powershell"}\n'
        blue_ev = self.upload(self.blue, tid, "alert.json", blue_bytes, "the SIEM alert", media="application/json")
        listed = self.call("list evidence", "evidence", "list_evidence", 200, self.blue, id=tid)
        if len(list(listed)) != 2:
            self.fail("python: wrong answer", "list_evidence", f"expected 2 files, got {len(list(listed))}")
        self.call("get evidence", "evidence", "get_evidence", 200, self.blue, id=tid, evidence_id=red_ev.id)
        for ev, data in [(red_ev, red_bytes), (blue_ev, blue_bytes)]:
            got = self.call("download evidence", "evidence", "download_evidence", 200, self.blue, id=tid, evidence_id=ev.id)
            content = got.payload.read() if hasattr(got, "payload") else None
            if content != data:
                self.fail("python: wrong answer", "download_evidence", f"the file came back different: {content!r:.80}")
        extra = self.upload(self.blue, tid, "extra.txt", b"to delete\n", "uploaded by mistake")
        self.call("delete evidence", "evidence", "delete_evidence", 204, self.blue, id=tid, evidence_id=extra.id)

        test = self.call("get test", "tests", "get_test", 200, self.blue, id=tid)
        test = self.call(
            "blue outcome",
            "tests",
            "update_test",
            200,
            self.blue,
            id=tid,
            if_match=f'"{test.version}"',
            body=m("TestPatchInput")(
                detection_outcome=m("DetectionOutcome")("alerted"), detected_at=now, detection_source="SIEM", blue_notes="alerted"
            ),
        )
        test = self.call("complete", "tests", "complete_test", 200, self.blue, id=tid)
        self.expect_state(test, "completed")
        test = self.call("reopen", "tests", "reopen_test", 200, self.lead, id=tid)
        self.expect_state(test, "blue_evaluating")
        test = self.call("complete again", "tests", "complete_test", 200, self.blue, id=tid)
        self.expect_state(test, "completed")
        self.call("history", "tests", "get_test_history", 200, self.lead, id=tid)
        self.call("list completed tests", "tests", "list_tests", 200, self.lead, state=m("TestState")("completed"), limit=50)

    def upload(self, who, tid: str, name: str, data: bytes, description: str, media: str = "text/plain"):
        File = self.types.File
        body = self.model("UploadEvidenceBody")(
            file=File(payload=io.BytesIO(data), file_name=name, mime_type=media), description=description
        )
        return self.call(f"upload {name}", "evidence", "upload_evidence", 201, who, id=tid, body=body)

    def expect_state(self, test, state: str) -> None:
        if plain(test.state) != state:
            self.fail("python: wrong answer", "test state", f"expected {state}, got {plain(test.state)}")

    def cancels(self) -> None:
        m = self.model
        for start in (False, True):
            test = self.call(
                "create a test",
                "tests",
                "create_test",
                201,
                self.red,
                body=m("NewTestInput")(name=f"{self.prefix} to cancel", technique_id="T1059.003", platform="windows"),
            )
            if start:
                self.call("start execution", "tests", "start_test_execution", 200, self.red, id=test.id)
            test = self.call("cancel", "tests", "cancel_test", 200, self.red, id=test.id)
            self.expect_state(test, "cancelled")
            self.cancelled_id = test.id

    def coverage(self) -> None:
        cov = self.call("coverage", "coverage", "get_coverage", 200, self.lead)
        found = [t for t in cov.techniques if t.attack_id == "T1059.001"]
        if not found or plain(found[0].status) != "covered":
            self.fail("python: wrong answer", "get_coverage", f"T1059.001 should be covered: {[plain(t.status) for t in found]}")
        self.call("KPIs", "coverage", "get_kpis", 200, self.lead)
        layer = self.call("Navigator layer", "coverage", "export_navigator_layer", 200, self.lead)
        if isinstance(layer, (dict, list)) or not hasattr(layer, "to_dict"):
            self.fail(
                "python: answer untyped in the document",
                "export_navigator_layer",
                f"the generated function returns {type(layer).__name__}, not a model",
            )

    def alerts(self) -> None:
        m = self.model
        body = m("AlertRuleInput")(name=f"{self.prefix} regressions", kind="technique_regressed", severity=m("Severity")("high"))
        rule = self.call("create alert rule", "alerts", "create_alert_rule", 201, self.lead, body=body)
        self.call("evaluate alert rule", "alerts", "evaluate_alert_rule", 200, self.lead, id=rule.id)
        self.call("list alerts", "alerts", "list_alerts", 200, self.lead, limit=50)

    def reports(self) -> None:
        m = self.model
        report = self.call(
            "generate report",
            "reports",
            "generate_report",
            202,
            self.lead,
            body=m("ReportInput")(kind=m("ReportKind")("coverage"), format_="json", title=f"{self.prefix} coverage"),
        )
        deadline = time.monotonic() + 120
        while plain(report.status) not in ("ready", "failed") and time.monotonic() < deadline:
            time.sleep(0.5)
            report = self.call("report status", "reports", "get_report", 200, self.lead, id=report.id)
        if plain(report.status) != "ready":
            self.fail("python: wrong answer", "get_report", f"the report ended {plain(report.status)}")
            raise Blocked("report not ready")
        got = self.call("download report", "reports", "download_report", 200, self.lead, id=report.id)
        try:
            json.loads(got.payload.read())
        except (ValueError, AttributeError) as e:
            self.fail("python: wrong answer", "download_report", f"not the JSON report: {e}")

    def plugins_upload(self) -> None:
        wasm = self.plugins / "blue-review-overdue.wasm"
        if not wasm.is_file():
            self.fail("python: setup", "plugin", f"{wasm} is missing (scripts/build-plugins.sh)")
            return
        File = self.types.File
        upload = self.model("UploadPluginBody")
        fields = {"file": File(payload=io.BytesIO(wasm.read_bytes()), file_name=wasm.name, mime_type="application/wasm")}
        # The server also needs the multipart field `kind`: a typed client
        # can send it only when the document declares it.
        if "kind" in attrs.fields_dict(upload):
            fields["kind"] = self.model("PluginKind")("alert_rule")
        body = upload(**fields)
        plugin = self.call("upload plugin", "plugins", "upload_plugin", 201, self.admin, body=body)
        self.call("enable plugin", "plugins", "enable_plugin", 200, self.admin, id=plugin.id)
        self.call("list plugins", "plugins", "list_plugins", 200, self.admin, limit=50)
        # The other client uploads the same component next, on the same server.
        self.call("delete plugin", "plugins", "delete_plugin", 204, self.admin, id=plugin.id)

    def error_answers(self) -> None:
        m = self.model
        missing = "00000000-0000-0000-0000-000000000000"
        checks = [
            ("wrong password", "auth", "login", 401, self.client(None), {"body": m("LoginRequest")(username="admin", password="wrong password!")}),
            ("no credentials", "auth", "get_me", 401, self.client(None), {}),
            ("unknown test", "tests", "get_test", 404, self.red, {"id": missing}),
            ("viewer may not plan tests", "tests", "create_test", 403, self.viewer,
             {"body": m("NewTestInput")(name="not allowed", technique_id="T1059.001")}),
            ("invalid user", "users", "create_user", 422, self.admin,
             {"body": m("CreateUserRequest")(username="x", role=m("Role")("viewer"), password="short")}),
            ("username taken", "users", "create_user", 409, self.admin,
             {"body": m("CreateUserRequest")(username=self.users_made["red"].username, role=m("Role")("viewer"), password=self.password)}),
        ]
        if hasattr(self, "cancelled_id"):
            checks.append(("illegal transition", "tests", "complete_test", 409, self.blue, {"id": self.cancelled_id}))
        if hasattr(self, "test_id"):
            checks.append(("stale version", "tests", "update_test", 412, self.lead,
                           {"id": self.test_id, "if_match": '"1"', "body": m("TestPatchInput")(blue_notes="stale")}))
            checks.append(("no version", "tests", "update_test", 428, self.lead,
                           {"id": self.test_id, "body": m("TestPatchInput")(blue_notes="no version")}))
        for step, tag, operation, status, who, kwargs in checks:
            try:
                self.call(step, tag, operation, status, who, **kwargs)
            except Blocked:
                pass
