"""Schemathesis hooks for scripts/api_fuzz.py, loaded into each schemathesis
run (one run per role, one worker).

What they add to schemathesis' own checks:

- every request is logged (operation, status) to the JSON-lines file named by
  KRUG_FUZZ_LOG, so the driver can count operations and examples per role;
- the check `nothing_written_on_4xx`: the row count of every table of the
  app's SQLite file (KRUG_FUZZ_DB) is taken before each request and compared
  after any 4xx answer; a refused request must leave no row behind;
- with KRUG_FUZZ_AUTH naming a credentials file, an auth provider that sends
  the role's bearer token and, for a person's login, rotates it through
  POST /api/v1/auth/refresh before the access token's 15 minutes run out.
"""

import json
import os
import sqlite3
import time
import urllib.request

import schemathesis

DB_PATH = os.environ.get("KRUG_FUZZ_DB", "")
LOG_PATH = os.environ.get("KRUG_FUZZ_LOG", "")
AUTH_PATH = os.environ.get("KRUG_FUZZ_AUTH", "")

# Tables whose rows a refused request may legitimately add. Each entry says
# why; anything else that grows on a 4xx is a defect.
EXCLUDED_TABLES = {
    # The webhook outcome counters behind /metrics: a refused delivery
    # (bad signature, foreign source address) is one of the outcomes they
    # count, so its first refusal of a kind adds that kind's row.
    "webhook_counters",
}

_state = {"before": None, "db": None, "log": None}


def _db():
    if _state["db"] is None:
        # Read-only, autocommit: each count sees the newest committed state.
        # Phases run on threads of their own, one request at a time (one
        # worker), so one connection serves them all.
        _state["db"] = sqlite3.connect(f"file:{DB_PATH}?mode=ro", uri=True, timeout=30, isolation_level=None,
                                       check_same_thread=False)
        _state["tables"] = [
            name
            for (name,) in _state["db"].execute(
                "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
            if name not in EXCLUDED_TABLES
        ]
    return _state["db"]


def row_counts():
    """{table: rows} of every table not excluded above."""
    db = _db()
    sql = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM \"{t}\"" for t in _state["tables"])
    return dict(db.execute(sql).fetchall())


@schemathesis.hook
def before_call(context, case, kwargs):
    if DB_PATH:
        _state["before"] = row_counts()


@schemathesis.hook
def after_call(context, case, response):
    if not LOG_PATH:
        return
    if _state["log"] is None:
        _state["log"] = open(LOG_PATH, "a", buffering=1)
    _state["log"].write(json.dumps({"op": case.operation.label, "status": response.status_code}) + "\n")


@schemathesis.check
def nothing_written_on_4xx(ctx, response, case):
    """A request answered 4xx added or removed no row of any table."""
    if not DB_PATH or not 400 <= response.status_code < 500 or _state["before"] is None:
        return None
    before, after = _state["before"], row_counts()
    changed = {t: (before.get(t, 0), n) for t, n in after.items() if before.get(t, 0) != n}
    if changed:
        detail = ", ".join(f"{t}: {a} -> {b}" for t, (a, b) in sorted(changed.items()))
        raise AssertionError(f"{response.status_code} answer, yet rows changed: {detail}")
    return None


if AUTH_PATH:
    with open(AUTH_PATH) as f:
        _CREDS = json.load(f)

    # Tokens are rotated well inside the access token's 15-minute life; a
    # 401 is an answer under test, never a reason to fetch a new token.
    @schemathesis.auth(refresh_interval=None, retry_on=[])
    class RoleAuth:
        """The role's bearer: an API key as is, a login's access token
        refreshed every 10 minutes."""

        def __init__(self):
            self.token = _CREDS["access"]
            self.refresh = _CREDS.get("refresh")
            self.at = time.monotonic()

        def get(self, case, ctx):
            if self.refresh and time.monotonic() - self.at > 600:
                req = urllib.request.Request(
                    _CREDS["base_url"] + "/api/v1/auth/refresh",
                    data=json.dumps({"refresh_token": self.refresh}).encode(),
                    headers={"content-type": "application/json"},
                    method="POST",
                )
                with urllib.request.urlopen(req, timeout=30) as r:
                    pair = json.loads(r.read())
                self.token, self.refresh, self.at = pair["access_token"], pair["refresh_token"], time.monotonic()
            return self.token

        def set(self, case, data, ctx):
            case.headers = case.headers or {}
            case.headers["Authorization"] = f"Bearer {data}"
