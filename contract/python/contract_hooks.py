"""schemathesis hooks of scripts/contract.sh (loaded through SCHEMATHESIS_HOOKS).

1. A guard: a password reset of the admin the fuzzer signs in as would lock
   the fuzzer out for the rest of the run (the server answers it with a
   generated password the fuzzer cannot know), so such a request is sent for a
   second admin (the decoy fuzz.py creates) instead. The request is otherwise
   unchanged and its answer is checked as usual.

2. `aegis_positive_data_acceptance`, which stands in for schemathesis's
   `positive_data_acceptance` (turned off in schemathesis.toml): the same
   check, except that a schema-valid request may be refused for a rule that
   OpenAPI 3.0 cannot state, and only for the fields and problem codes listed
   below, each with its reason. Any other refusal of a schema-valid request
   still fails the run: an undeclared limit, a type the document gets wrong.
"""

from __future__ import annotations

import os

import schemathesis
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.specs.openapi.checks import positive_data_acceptance

ADMIN_ID = os.environ.get("AEGIS_CONTRACT_ADMIN_ID", "")
DECOY_ID = os.environ.get("AEGIS_CONTRACT_DECOY_ID", "")


@schemathesis.hook
def before_call(context, case, kwargs):
    operation_id = case.operation.definition.raw.get("operationId")
    if operation_id == "reset_user_password" and ADMIN_ID and case.path_parameters.get("id") == ADMIN_ID:
        case.path_parameters["id"] = DECOY_ID


# --- rules the document cannot state ------------------------------------------

# One bound of a range must not pass the other: OpenAPI cannot say that one
# parameter (or field) bounds another.
RANGE = "one bound must not pass the other"
# A field naming a record (a campaign, a user, a technique of the catalog)
# must name one that exists, is active, is not completed: that is the data's
# state, not the request's shape.
EXISTS = "must name an existing record"
# One of several values known only at run time: the kinds of alert rules and
# the report formats depend on the plugins installed and enabled (their
# lists are GET /api/v1/alert-kinds and GET /api/v1/report-formats), and an
# alert rule's `params` follow the JSON Schema of its kind.
RUN_TIME_LIST = "valid values are known at run time"
# The content of an uploaded file (an Atomic Red Team YAML or archive, a
# Navigator layer, a WebAssembly component, a STIX bundle) is read by the
# server; the document can only say "binary".
FILE_CONTENT = "the file's content must be what the operation reads"

REFUSABLE_FIELDS: dict[str, dict[str, str]] = {
    "list_audit_events": {
        "since": RANGE,
        # `target_type` and `target_id` go together; OpenAPI 3.0 has no
        # "both or neither" for parameters.
        "target_id": "target_type and target_id go together",
    },
    "get_coverage": {"from": RANGE},
    "export_navigator_layer": {"from": RANGE},
    "get_kpis": {"from": RANGE},
    "take_snapshot": {"from": RANGE, "campaign_id": EXISTS},
    "create_campaign": {"ends_on": RANGE},
    "update_campaign": {"ends_on": RANGE},
    # "In the future" moves with the clock; a schema is fixed.
    "create_api_token": {"expires_at": "must be in the future"},
    # Argument names are letters, digits, `-` and `_`: OpenAPI 3.0 has no
    # `propertyNames` to say so about a map's keys.
    "create_template": {"input_arguments": "argument names", "technique_id": EXISTS},
    "update_template": {"input_arguments": "argument names", "technique_id": EXISTS},
    "create_test": {
        "technique_id": EXISTS,
        "campaign_id": EXISTS,
        "red_assignee_id": EXISTS,
        "blue_assignee_id": EXISTS,
    },
    "update_test": {
        "technique_id": EXISTS,
        "campaign_id": EXISTS,
        "red_assignee_id": EXISTS,
        "blue_assignee_id": EXISTS,
        "detected_at": RANGE,
    },
    "create_test_from_template": {
        "campaign_id": EXISTS,
        "red_assignee_id": EXISTS,
        "blue_assignee_id": EXISTS,
        # Only the arguments this template has: each template its own.
        "arguments": "the template's own arguments",
    },
    # `campaign_id` is required for a campaign report only: OpenAPI 3.0 has
    # no "required when kind is ..." short of a oneOf per kind.
    "generate_report": {"campaign_id": EXISTS, "format": RUN_TIME_LIST},
    "create_alert_rule": {
        "kind": RUN_TIME_LIST,
        "params": RUN_TIME_LIST,
        "campaign_id": EXISTS,
        # A webhook's host must be public (resolved when the rule is saved),
        # and a URL needs a secret: state of the network, and a rule between
        # two fields.
        "webhook_url": "a public host",
        "webhook_secret": "needed with a URL",
    },
    "update_alert_rule": {
        "kind": RUN_TIME_LIST,
        "params": RUN_TIME_LIST,
        "campaign_id": EXISTS,
        "webhook_url": "a public host",
        "webhook_secret": "needed with a URL",
    },
    # A bulk action takes the one field it uses (`user_id`, `campaign_id` or
    # `tags`) and refuses the others: "required and allowed when action is
    # ..." needs a oneOf per action in OpenAPI 3.0.
    "bulk_update_tests": {
        "user_id": "the field of its action only",
        "campaign_id": "the field of its action only",
        "tags": "the field of its action only",
    },
    "configure_plugin": {"config": RUN_TIME_LIST},
    # A keyset cursor is opaque: only one this list gave, for the same sort,
    # is read, and it pages instead of an offset.
    "list_tests": {
        "after": "a cursor this list gave, for its sort",
        "offset": "after or offset, not both",
    },
    # An address must also pass the local-part and domain rules of the
    # mailer (dots, hyphens, labels), which a pattern cannot say readably.
    "create_user": {"email": "a deliverable address"},
    "update_user": {"email": "a deliverable address"},
    "update_me": {"email": "a deliverable address"},
    "create_tests_from_templates": {
        "campaign_id": EXISTS,
        "red_assignee_id": EXISTS,
        "blue_assignee_id": EXISTS,
    },
    "import_atomic": {"file": FILE_CONTENT},
    "import_atomic_archive": {"file": FILE_CONTENT},
    "import_navigator_layer": {"file": FILE_CONTENT},
    "upload_evidence": {"file": FILE_CONTENT},
}

# Refusals by problem code, on the operations that can give them.
REFUSABLE_CODES: dict[str, str] = {
    # Optimistic concurrency: the version a change names (If-Match or a
    # `version` field) is the data's state, as a 409 is; OpenAPI cannot say
    # "one of If-Match and version" (428) or "they must agree" (400).
    "stale_version": "a change based on an old version",
    "version_required": "If-Match or version, one of them",
    "invalid_if_match": "If-Match and version must agree",
}
REFUSABLE_CODES_OF: dict[str, dict[str, str]] = {
    "upload_plugin": {"not_a_component": FILE_CONTENT, "invalid_plugin": FILE_CONTENT},
    "upload_mitre_bundle": {"invalid_bundle": FILE_CONTENT},
}


def allowed_refusal(operation_id: str, problem: object) -> bool:
    if not isinstance(problem, dict):
        return False
    code = problem.get("code")
    if code in REFUSABLE_CODES or code in REFUSABLE_CODES_OF.get(operation_id, {}):
        return True
    fields = REFUSABLE_FIELDS.get(operation_id, {})
    errors = problem.get("errors") or []
    if code != "validation_failed" or not errors:
        return False
    return all(refusable(str(error.get("field", "")), fields) for error in errors)


def refusable(field: str, fields: dict[str, str]) -> bool:
    """`params.hours` and `params/hours` are `params`'s."""
    return any(field == name or field.startswith((f"{name}.", f"{name}/", f"{name}[")) for name in fields)


@schemathesis.check
def aegis_positive_data_acceptance(ctx, response, case):
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        operation_id = case.operation.definition.raw.get("operationId", "")
        try:
            problem = response.json()
        except ValueError:
            problem = None
        if allowed_refusal(operation_id, problem):
            return None
        raise
