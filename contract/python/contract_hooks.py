"""schemathesis hooks of scripts/contract.sh (loaded through SCHEMATHESIS_HOOKS).

One guard, and nothing else: a password reset of the admin the fuzzer signs
in as would lock the fuzzer out for the rest of the run (the server answers
it with a generated password the fuzzer cannot know), so such a request is
sent for a second admin (the decoy fuzz.py creates) instead. The request is
otherwise unchanged and its answer is checked as usual."""

from __future__ import annotations

import os

import schemathesis

ADMIN_ID = os.environ.get("AEGIS_CONTRACT_ADMIN_ID", "")
DECOY_ID = os.environ.get("AEGIS_CONTRACT_DECOY_ID", "")


@schemathesis.hook
def before_call(context, case, kwargs):
    operation_id = case.operation.definition.raw.get("operationId")
    if operation_id == "reset_user_password" and ADMIN_ID and case.path_parameters.get("id") == ADMIN_ID:
        case.path_parameters["id"] = DECOY_ID
