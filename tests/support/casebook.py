"""The case registry and runner shared by the conformance harnesses
(tests/connector/websocket/conformance.py, tests/integration/h2conformance.py).

A harness marks each case with @case(group, id); run() runs one group, prints one
"case ID: ok" or "case ID: FAIL why" line per case (what the ctest wrappers read), then
"group G: N/M cases ok", and returns the number of failures (at most 100, an exit status).
"""

CASES = {}


def case(group, cid):
    def register(fn):
        CASES.setdefault(group, []).append((cid, fn))
        return fn
    return register


class Fail(Exception):
    pass


def check(condition, why):
    if not condition:
        raise Fail(why)


def run(group, call=lambda fn: fn(), only=None):
    """Runs the cases of `group` (or just the one named `only`), each through `call(fn)`."""
    cases = [(cid, fn) for cid, fn in CASES[group] if only is None or only == cid]
    failed = 0
    for cid, fn in cases:
        try:
            call(fn)
            print(f"case {cid}: ok", flush=True)
        except Fail as e:
            failed += 1
            print(f"case {cid}: FAIL {e}", flush=True)
        except Exception as e:  # a harness bug or a hung server: one case's failure hides no other
            failed += 1
            print(f"case {cid}: FAIL {type(e).__name__}: {e}", flush=True)
    print(f"group {group}: {len(cases) - failed}/{len(cases)} cases ok", flush=True)
    return min(failed, 100)
