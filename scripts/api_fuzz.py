"""Schema-driven fuzzing of every route (issue 21): schemathesis against the
app, once per role, from the OpenAPI document in static/openapi.json.

    scripts/api_fuzz.py [--tier quick|full] [--examples N] [--seed N]
                        [--roles "member,owner of A"] [--keep]

Starts the local host (target/native/krug-host, built beforehand) on a free
127.0.0.1 port with a fresh state directory and an SMS gateway stand-in, seeds
a small club through the API (an admin; businesses A and B; an owner and a
manager of A; a manager of B; API keys of A and B; two members with
purchases), then runs schemathesis with one worker for each role: anonymous,
member, other member, manager of A, owner of A, staff of B, API key of A, API
key of B, admin. Path, query and body fields that name a business mostly get
business A's id, so the fuzzer gets past authorization.

Checks: no 5xx, every status documented, response bodies valid against the
schema, content types as documented, response headers, and (hooks in
scripts/api_fuzz_hooks.py) nothing written on a 4xx: the row count of every
table before and after each request answered 4xx.

The quick tier (scripts/test): the examples and fuzzing phases, 10 examples
per operation, a fixed seed. The full tier (scripts/reliability): also the
coverage phase (boundary and negative values of every parameter and body
field) and the stateful phase along the document's links (create, then read,
patch, delete what was made), 100 examples per operation, a random seed
(printed; --seed replays it). Prints a per-role table and exits non-zero on
any failure (their schemathesis reports are then kept). With
KRUG_RELIABILITY_OUT naming a directory, writes api_fuzz.json there:
{"operations", "examples" (requests sent), "failures", "roles": {...}}.

Needs the project virtualenv (scripts/lib.sh's ensure_venv) for schemathesis.
"""

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

# No bytecode caches in the work tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (the host, SMS gateway and API helpers)

ROOT = bench.ROOT
DOC = os.path.join(ROOT, "static", "openapi.json")
VENV_BIN = os.path.join(ROOT, ".venv", "bin")

# Phone numbers (bench.phone_of) of the seeded people; each logs in from its
# own loopback address, so the per-IP code limit never bites the seeding.
ADMIN, OWNER_A, MANAGER_A, MANAGER_B, MEMBER, OTHER, ERASABLE = 0, 1, 2, 3, 4, 5, 6

TIERS = {
    # Examples per operation, seed (None: random), phases, and the time one
    # role's run may take before it counts as failed.
    "quick": {"examples": 10, "seed": 21, "phases": "examples,fuzzing", "role_limit_s": 600},
    "full": {"examples": 100, "seed": None, "phases": "examples,coverage,fuzzing,stateful", "role_limit_s": 1800},
}

CHECKS = ",".join([
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "nothing_written_on_4xx",
])

# Every role fuzzed, in order. "erasable member" is a throwaway login that
# runs DELETE /me alone (see ERASE).
ROLES = ["anonymous", "member", "other member", "manager of A", "owner of A", "staff of B",
         "api key of A", "api key of B", "admin", "erasable member"]

# DELETE /me erases the caller: run for a role it would end the role's run
# (every later request 401). It is fuzzed once, by its own throwaway member
# at the end, and by anonymous callers.
ERASE = "DELETE /api/v1/me"


class Club:
    """What the seeding made: ids and credentials."""

    def __init__(self):
        self.business_a = self.business_b = None
        self.creds = {}  # role -> {"access", "refresh"?}
        self.purchases = []
        self.cards = []
        self.ids = {}  # dictionary name -> ids of seeded resources


def must(expected, got):
    """The body of an answer that had to be `expected` (else the run stops)."""
    status, body = got
    if status not in ((expected,) if isinstance(expected, int) else expected):
        sys.exit(f"seeding failed: expected {expected}, got {status}: {body}")
    return body


def login_pair(port, sms, i, first_name="Fuzz"):
    """Logs phone `i` in; returns its token pair."""
    (phone, code), = bench.request_codes(port, sms, i, 1)
    body = must(200, bench.call(port, "POST", "/api/v1/auth/verify", {
        "phone": phone, "code": code, "first_name": first_name, "consents": {"personal_data": True}}))
    return {"access": body["access_token"], "refresh": body["refresh_token"]}


def seed(port, sms):
    """Makes the club the roles act in, through the API; returns it."""
    club = Club()
    admin = login_pair(port, sms, ADMIN, "Админ")
    club.creds["admin"] = admin
    tok = admin["access"]
    a = must(201, bench.call(port, "POST", "/api/v1/admin/businesses", {"name": "Кафе А", "category": "gastronomy"}, token=tok))
    b = must(201, bench.call(port, "POST", "/api/v1/admin/businesses", {"name": "Цветы Б", "category": "floristry"}, token=tok))
    club.business_a, club.business_b = a["id"], b["id"]
    for role, who in (("owner of A", OWNER_A), ("manager of A", MANAGER_A), ("staff of B", MANAGER_B),
                      ("member", MEMBER), ("other member", OTHER), ("erasable member", ERASABLE)):
        club.creds[role] = login_pair(port, sms, who)
    # Staff are members who logged in once; their next token carries the role.
    for role, who, biz, kind in (("owner of A", OWNER_A, a, "owner"), ("manager of A", MANAGER_A, a, "manager"),
                                 ("staff of B", MANAGER_B, b, "manager")):
        must((200, 201), bench.call(port, "POST", f"/api/v1/admin/businesses/{biz['id']}/staff",
                                    {"phone": bench.phone_of(who), "role": kind}, token=tok))
        pair = must(200, bench.call(port, "POST", "/api/v1/auth/refresh", {"refresh_token": club.creds[role]["refresh"]}))
        club.creds[role] = {"access": pair["access_token"], "refresh": pair["refresh_token"]}
        me = must(200, bench.call(port, "GET", "/api/v1/me", token=pair["access_token"]))
        if "staff" not in me["roles"]:
            sys.exit(f"seeding failed: {role} has no staff role after refresh: {me['roles']}")
    key_a = must(201, bench.call(port, "POST", f"/api/v1/admin/businesses/{a['id']}/api-keys", {"name": "fuzz A"}, token=tok))
    key_b = must(201, bench.call(port, "POST", f"/api/v1/admin/businesses/{b['id']}/api-keys", {"name": "fuzz B"}, token=tok))
    club.creds["api key of A"] = {"access": key_a["api_key"]}
    club.creds["api key of B"] = {"access": key_b["api_key"]}
    # Each member buys at A, and at B, so purchases, ledger rows and a
    # reviewable purchase exist.
    for n, role in enumerate(("member", "other member")):
        wallet = must(200, bench.call(port, "GET", "/api/v1/wallet", token=club.creds[role]["access"]))
        club.cards.append(wallet["card_number"])
        for key, biz in ((key_a, a), (key_b, b)):
            body = must(201, bench.call(port, "POST", "/api/v1/pos/purchases", {
                "member": {"card_number": wallet["card_number"]}, "amount": 150_000 + n * 1000, "category": biz["category"]},
                token=key["api_key"], headers={"idempotency-key": f"seed-{n}-{biz['id']}"}))
            club.purchases.append(body["purchase_id"])
    # One of each main resource, so the operations that read or change one
    # by id mostly find it (their ids are in the dictionaries below).
    iso = lambda days: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + days * 86400))
    member = club.creds["member"]["access"]
    club.ids["promos"] = [must(201, bench.call(port, "POST", "/api/v1/admin/promos", {
        "code": "FUZZ10", "name": "Скидка 10", "kind": "percent", "value": 10, "businesses": [a["id"]]}, token=tok))["id"]]
    club.ids["banners"] = [must(201, bench.call(port, "POST", "/api/v1/admin/banners", {
        "placement": "home", "title": "Баннер"}, token=tok))["id"]]
    club.ids["faq"] = [must(201, bench.call(port, "POST", "/api/v1/admin/faq", {
        "question": "Как копить баллы?", "answer": "Покупайте у партнёров клуба."}, token=tok))["id"]]
    event = must(201, bench.call(port, "POST", "/api/v1/admin/events", {
        "title": "Дегустация", "description": "Вечер в кафе А", "type": "masterclass", "format": "free",
        "starts_at": iso(10), "ends_at": iso(10.1), "business_id": a["id"], "capacity": 50}, token=tok))
    club.ids["events"] = [event["id"]]
    item = must(201, bench.call(port, "POST", "/api/v1/admin/preorder-items", {
        "business_id": a["id"], "title": "Набор к празднику", "release_at": iso(30), "cancellation_deadline": iso(20),
        "refund_policy": {"full_until": iso(5), "partial_percent": 50, "none_after": iso(10)}}, token=tok))
    club.ids["items"] = [item["id"]]
    tier = must(201, bench.call(port, "POST", f"/api/v1/admin/preorder-items/{item['id']}/tiers", {
        "name": "Ранний", "base_price": 250_000, "discount_percent": 10, "max_quantity": 100, "early_access_days": 0,
        "available_from": iso(-1), "available_until": iso(25), "priority": 1}, token=tok))
    club.ids["tiers"] = [tier["id"]]
    club.ids["reviews"] = [must(201, bench.call(port, "POST", "/api/v1/reviews", {
        "target": {"type": "business"}, "purchase_id": club.purchases[0], "rating": 5, "text": "Вкусно"}, token=member))["id"]]
    club.ids["tickets"] = [must(201, bench.call(port, "POST", "/api/v1/support/tickets", {
        "subject": "Баллы", "body": "Где мои баллы?", "purchase_id": club.purchases[0]}, token=member))["id"]]
    return club


# Path templates whose {id} names a seeded resource, and its dictionary.
ID_PATHS = [
    (r"/businesses/\{id\}", "business_a"),
    (r"^/api/v1/admin/promos/\{id\}", "promos"),
    (r"^/api/v1/admin/banners/\{id\}", "banners"),
    (r"^/api/v1/admin/faq/\{id\}", "faq"),
    (r"^/api/v1/events/\{id\}", "events"),
    (r"^/api/v1/admin/events/\{id\}", "events"),
    (r"^/api/v1/admin/preorder-items/\{id\}", "items"),
    (r"^/api/v1/preorders/items/\{id\}", "items"),
    (r"^/api/v1/reviews/\{id\}", "reviews"),
    (r"^/api/v1/admin/reviews/\{id\}", "reviews"),
    (r"^/api/v1/support/tickets/\{id\}", "tickets"),
]


def config_toml(club, examples, seed_value, role):
    """The schemathesis configuration of one role's run."""
    biz = json.dumps(club.business_a)
    lines = [
        'hooks = "api_fuzz_hooks"',
        "workers = 1",
        "request-timeout = 30",
        "continue-on-failure = true",
        "suppress-health-check = [\"all\"]",
        # Nothing kept between runs: each run starts from the same club.
        "[cache]",
        "enabled = false",
        "[generation]",
        f"max-examples = {examples}",
        "database = \"none\"",
        # Failures print curl lines that replay as is (the tokens are this
        # run's own, gone with it).
        "[output.sanitization]",
        "enabled = false",
        # Business A's id, and the members' purchases and cards, are what
        # most fields naming them get; the rest is the fuzzer's own.
        "[dictionaries.business_a]",
        f"values = [{biz}]",
        "[dictionaries.purchases]",
        f"values = {json.dumps(club.purchases)}",
        "[dictionaries.cards]",
        f"values = {json.dumps(club.cards)}",
        "[parameters]",
        '"query.business_id" = { dictionary = "business_a", probability = 0.8 }',
        '"body.business_id" = { dictionary = "business_a", probability = 0.8 }',
        '"body.purchase_id" = { dictionary = "purchases", probability = 0.8 }',
        '"body.member.card_number" = { dictionary = "cards", probability = 0.8 }',
        '"body.businesses[*]" = { dictionary = "business_a", probability = 0.8 }',
        '"body.tier_id" = { dictionary = "tiers", probability = 0.8 }',
    ]
    for name, ids in club.ids.items():
        lines[lines.index("[parameters]"):lines.index("[parameters]")] = [f"[dictionaries.{name}]", f"values = {json.dumps(ids)}"]
    for regex, name in ID_PATHS:
        lines += ["[[operations]]", f"include-path-regex = '{regex}'",
                  f'parameters = {{ "path.id" = {{ dictionary = "{name}", probability = 0.8 }} }}']
    if role in club.creds:
        # The role's credentials go on every request (the auth provider in
        # the hooks); invalid and missing tokens are the anonymous run's.
        lines[lines.index("[generation]") + 1:lines.index("[generation]") + 1] = ["with-security-parameters = false"]
    # Scenarios long enough to walk create -> read -> patch -> delete and
    # a step or two beyond.
    lines += ["[phases.stateful]", "max-steps = 10"]
    if seed_value is not None:
        lines.insert(0, f"seed = {seed_value}")
    return "\n".join(lines) + "\n"


def run_role(port, club, role, tier, examples, seed_value, work, db_path, only=None, exclude=None):
    """One schemathesis run for `role`; returns its figures."""
    tag = role.replace(" ", "_")
    cfg = os.path.join(work, f"{tag}.toml")
    with open(cfg, "w") as f:
        f.write(config_toml(club, examples, seed_value, role))
    log = os.path.join(work, f"{tag}.jsonl")
    report = os.path.join(work, f"{tag}-report.json")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.dirname(os.path.abspath(__file__))
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["KRUG_FUZZ_DB"] = db_path
    env["KRUG_FUZZ_LOG"] = log
    if role in club.creds:
        auth = os.path.join(work, f"{tag}-auth.json")
        with open(auth, "w") as f:
            json.dump({**club.creds[role], "base_url": f"http://127.0.0.1:{port}"}, f)
        env["KRUG_FUZZ_AUTH"] = auth
    phases = TIERS[tier]["phases"]
    if only:
        # One operation has no links to follow.
        phases = ",".join(p for p in phases.split(",") if p != "stateful")
    cmd = [os.path.join(VENV_BIN, "schemathesis"), "--config-file", cfg, "run", DOC,
           "--url", f"http://127.0.0.1:{port}", "--checks", CHECKS, "--phases", phases,
           "--report", "json", "--report-json-path", report, "--no-color"]
    if only:
        cmd += ["--include-name", only]
    if exclude:
        cmd += ["--exclude-name", exclude]
    t0 = time.monotonic()
    try:
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=TIERS[tier]["role_limit_s"])
        returncode, output = out.returncode, out.stdout + out.stderr
    except subprocess.TimeoutExpired as e:
        returncode = -1
        output = (e.stdout or b"").decode(errors="replace") + f"\n=== ERRORS ===\nstopped after {e.timeout} s\n"
    secs = time.monotonic() - t0
    with open(os.path.join(work, f"{tag}.out"), "w") as f:
        f.write(output)
    calls = []
    if os.path.exists(log):
        with open(log) as f:
            calls = [json.loads(line) for line in f if line.strip()]
    failures = count_failures(report) if returncode != -1 else None
    if not failures and returncode:
        # A run that stopped or errored without a recorded failure still fails.
        failures = 1
    return {"operations": sorted({c["op"] for c in calls}), "examples": len(calls), "failures": failures or 0,
            "seconds": round(secs, 1), "exit": returncode, "output": output}


def count_failures(report):
    """Unique failures and errors of a schemathesis JSON report (None when
    there is no report)."""
    try:
        with open(report) as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    cases = data.get("test_cases", {})
    return cases.get("unique_failures", 0) + sum(e.get("count", 1) for e in data.get("errors", []))


def failure_text(output, limit=20_000):
    """The FAILURES and ERRORS sections of a schemathesis run's output."""
    lines, keep = [], False
    for line in output.splitlines():
        if line.startswith("=") and ("FAILURES" in line or "ERRORS" in line):
            keep = True
        elif line.startswith("=") and ("WARNINGS" in line or "SUMMARY" in line):
            keep = False
        if keep and line.strip():
            lines.append(line)
    return "\n".join(lines)[:limit]


def report(results, args, tier, examples, seed_value):
    """Prints the per-role table; writes api_fuzz.json when asked."""
    ops = sorted({op for r in results.values() for op in r["operations"]})
    total_examples = sum(r["examples"] for r in results.values())
    total_failures = sum(r["failures"] for r in results.values())
    print()
    print("| role | operations | examples | failures | seconds |")
    print("|---|---:|---:|---:|---:|")
    for role, r in results.items():
        print(f"| {role} | {len(r['operations'])} | {r['examples']} | {r['failures']} | {r['seconds']:.0f} |")
    print(f"| all | {len(ops)} distinct | {total_examples} | {total_failures} | {sum(r['seconds'] for r in results.values()):.0f} |")
    out_dir = os.environ.get("KRUG_RELIABILITY_OUT")
    if out_dir:
        os.makedirs(out_dir, exist_ok=True)
        with open(os.path.join(out_dir, "api_fuzz.json"), "w") as f:
            json.dump({
                "operations": len(ops), "examples": total_examples, "failures": total_failures,
                "tier": args.tier, "examples_per_operation": examples, "seed": seed_value, "phases": tier["phases"],
                "roles": {role: {"operations": len(r["operations"]), "examples": r["examples"], "failures": r["failures"],
                                 "seconds": r["seconds"]} for role, r in results.items()},
            }, f, indent=2)
            f.write("\n")
    return total_failures


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tier", choices=sorted(TIERS), default="quick")
    ap.add_argument("--examples", type=int, default=None, help="examples per operation (default: the tier's)")
    ap.add_argument("--seed", type=int, default=None, help="the seed (default: the quick tier's fixed one, a random one in full)")
    ap.add_argument("--roles", default="", help="comma-separated subset of the roles to run (default: all)")
    ap.add_argument("--keep", action="store_true", help="keep the state directory and the schemathesis reports")
    args = ap.parse_args()
    tier = TIERS[args.tier]
    examples = args.examples or tier["examples"]
    seed_value = args.seed if args.seed is not None else tier["seed"] if tier["seed"] is not None else random.randrange(1 << 31)
    if not os.path.exists(bench.HOST_BIN):
        sys.exit("target/native/krug-host is not built")
    if not os.path.exists(os.path.join(VENV_BIN, "schemathesis")):
        sys.exit("the project virtualenv is missing (scripts/lib.sh: ensure_venv)")
    roles = [r for r in ROLES if not args.roles or r in args.roles.split(",")]
    if not roles:
        sys.exit(f"no such role; roles: {', '.join(ROLES)}")

    env = dict(os.environ)
    env["SPIN_VARIABLE_JWT_SECRET"] = os.urandom(32).hex()
    env["SPIN_VARIABLE_JOBS_TOKEN"] = os.urandom(16).hex()
    env["SPIN_VARIABLE_METRICS_TOKEN"] = os.urandom(16).hex()
    # Configured, so the webhooks answer 401/403 to the fuzzer's signatures
    # rather than 503 "not configured".
    env["SPIN_VARIABLE_PAYMENTS_WEBHOOK_SECRET"] = os.urandom(16).hex()
    env["SPIN_VARIABLE_TELEGRAM_WEBHOOK_SECRET"] = os.urandom(16).hex()
    env["SPIN_VARIABLE_ADMIN_PHONES"] = bench.phone_of(ADMIN)
    sms = bench.SmsGateway()
    env["SPIN_VARIABLE_SMS_GATEWAY_URL"] = f"http://127.0.0.1:{sms.port}"
    state = tempfile.mkdtemp(prefix="krug-fuzz-")
    work = os.path.join(state, "fuzz")
    os.makedirs(work)
    port = bench.free_port()
    host, _ = bench.start_host(state, port, env)
    results = {}
    keep = args.keep
    try:
        club = seed(port, sms)
        db = os.path.join(state, "sqlite_db.db")
        print(f"api fuzz: {args.tier} tier, {examples} examples per operation, seed {seed_value}, {len(roles)} roles", flush=True)
        for role in roles:
            if role == "erasable member":
                r = run_role(port, club, role, args.tier, examples, seed_value, work, db, only=ERASE)
            else:
                r = run_role(port, club, role, args.tier, examples, seed_value, work, db,
                             exclude=None if role == "anonymous" else ERASE)
            results[role] = r
            print(f"  {role}: {len(r['operations'])} operations, {r['examples']} examples, {r['failures']} failures, "
                  f"{r['seconds']:.0f} s", flush=True)
            if r["failures"]:
                print(failure_text(r["output"]), flush=True)
                keep = True
    finally:
        host.stop()
        sms.stop()
        if keep:
            print(f"state and schemathesis reports kept in {state}")
        else:
            shutil.rmtree(state, ignore_errors=True)
    failures = report(results, args, tier, examples, seed_value)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
