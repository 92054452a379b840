"""Checks deploy/local/schemathesis adds to schemathesis's own (loaded via SCHEMATHESIS_HOOKS).

`anonymous_caller_gets_401`: in the run without a token (KESOS_SCHEMATHESIS_ANONYMOUS=1), every
operation that is not public (its `security` is not `[]`) must answer 401 -- not 404, 400 or
anything else that would tell a caller without a token what exists or what it sent wrong.
"""

import os

import schemathesis


@schemathesis.check
def anonymous_caller_gets_401(ctx, response, case):
    if os.environ.get("KESOS_SCHEMATHESIS_ANONYMOUS") != "1":
        return None
    if case.operation.definition.raw.get("security") == []:
        return None
    if response.status_code != 401:
        raise AssertionError(
            f"{case.operation.label} answered {response.status_code} to a caller without a token; "
            "a non-public operation must answer 401"
        )
    return None
