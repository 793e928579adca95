"""Benchmark driver for scripts/bench. Loopback only; every run is bounded.

Measures, in one run: the native floor server, then the host serving the app
(cold start, trivial and SQLite-backed routes at several concurrencies, RSS),
and reports each host figure as a ratio of the floor's or the health route's.
"""

import argparse
import glob
import hashlib
import hmac
import http.client
import http.server
import threading
from concurrent.futures import ThreadPoolExecutor
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOST_BIN = os.path.join(ROOT, "target/native/krug-host")
FLOOR_BIN = os.path.join(ROOT, "target/native/floor")
FIRST_BIN = os.path.join(ROOT, "target/native/first-statement")
WASM_DIR = os.path.join(ROOT, "target/wasm32-wasip2/release")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, timeout=60.0, method="GET", headers=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            req = urllib.request.Request(url, method=method, headers=headers or {})
            with urllib.request.urlopen(req, timeout=2) as r:
                if r.status == 200:
                    return True
        except Exception:
            time.sleep(0.02)
    return False


def to_ms(value):
    m = re.match(r"([\d.]+)(us|ms|s)", value)
    n, unit = float(m.group(1)), m.group(2)
    return n / 1000 if unit == "us" else n * 1000 if unit == "s" else n


# The host's per-request stats file (set once the host runs): each cell
# reads the lines its requests added.
STATS = {"path": None}
# The host's pid, for its CPU time per request.
HOST = {"pid": None}


def host_cpu_s():
    """User + system CPU seconds the host process has used so far."""
    pid = HOST["pid"]
    if not pid:
        return None
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def stats_offset():
    path = STATS["path"]
    return os.path.getsize(path) if path and os.path.exists(path) else 0


def stats_since(offset):
    """Mean SQL figures per request of the lines written after `offset`."""
    path = STATS["path"]
    if not path or not os.path.exists(path):
        return {}
    with open(path, "rb") as f:
        f.seek(offset)
        rows = [json.loads(line) for line in f.read().decode().splitlines() if line.strip()]
    if not rows:
        return {}
    n = len(rows)
    mean = lambda k: sum(r[k] for r in rows) / n
    return {
        "requests": n,
        "stmts": mean("sql_statements"),
        "busy": mean("sql_busy"),
        "sql_ms": mean("sql_us") / 1000,
        "first_ms": mean("first_statement_us") / 1000,
        "total_ms": mean("total_us") / 1000,
    }


def wrk(url, connections, duration, script=None, threads=2):
    offset = stats_offset()
    cmd = ["wrk", f"-t{min(threads, connections)}", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "5s"]
    if script:
        cmd += ["-s", script]
    cpu0 = host_cpu_s()
    out = subprocess.run(cmd + [url], capture_output=True, text=True, timeout=duration + 60).stdout
    cpu1 = host_cpu_s()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    served = re.search(r"(\d+) requests in", out)
    cpu_ms = (cpu1 - cpu0) * 1000 / int(served.group(1)) if cpu0 is not None and cpu1 is not None and served and int(served.group(1)) else None
    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    # Let the last requests' lines land.
    time.sleep(0.2)
    return {
        "rps": rps,
        "p50": to_ms(lat["50"]),
        "p99": to_ms(lat["99"]),
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "errors": errors.group(0) if errors else "",
        "sql": stats_since(offset),
        "cpu_ms": cpu_ms,
    }


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            fields = dict(line.split(":", 1) for line in f if ":" in line)
        return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])
    except OSError:
        return 0, 0


class Proc:
    def __init__(self, cmd, env=None):
        self.p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True)

    def stop(self):
        try:
            os.killpg(self.p.pid, signal.SIGTERM)
            self.p.wait(timeout=10)
        except Exception:
            try:
                os.killpg(self.p.pid, signal.SIGKILL)
            except Exception:
                pass


def start_host(state_dir, port, env):
    t0 = time.monotonic()
    STATS["path"] = os.path.join(state_dir, "request-stats.jsonl")
    proc = Proc([HOST_BIN, "--manifest", os.path.join(ROOT, "spin.toml"), "--listen", f"127.0.0.1:{port}", "--state-dir", state_dir, "--no-cron",
                 "--stats-file", STATS["path"]], env=env)
    HOST["pid"] = proc.p.pid
    token = env["SPIN_VARIABLE_JOBS_TOKEN"]
    ok = wait_http(f"http://127.0.0.1:{port}/internal/migrate", method="POST", headers={"authorization": f"Bearer {token}"})
    if not ok:
        proc.stop()
        sys.exit("host did not start")
    ok = wait_http(f"http://127.0.0.1:{port}/api/v1/health")
    return proc, (time.monotonic() - t0) * 1000


class SmsGateway:
    """The SMS gateway stand-in: remembers the last code sent to each phone."""

    def __init__(self):
        codes = self.codes = {}

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                m = re.search(r"\b(\d{6})\b", body["text"])
                codes[body["to"]] = m.group(1)
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()


class TelegramApi:
    """The Bot API stand-in: answers every sendMessage like Telegram does."""

    def __init__(self):
        counter = self.sent = [0]
        lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers["content-length"]))
                with lock:
                    counter[0] += 1
                    n = counter[0]
                out = json.dumps({"ok": True, "result": {"message_id": n, "date": 0, "chat": {"id": -100, "type": "supergroup"}}}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()


def outbox_delivery(port, token, tg, limit_s=60.0):
    """Runs the Telegram delivery job until the support outbox is empty (or
    `limit_s` passed); returns (messages sent, seconds)."""
    before = tg.sent[0]
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit_s:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        conn.request("POST", "/internal/jobs/support-deliver-telegram", headers={"authorization": f"Bearer {token}"})
        r = conn.getresponse()
        body = json.loads(r.read())
        conn.close()
        assert r.status == 200, body
        if body["report"]["affected"] == 0:
            break
    return tg.sent[0] - before, time.monotonic() - t0


def call(port, method, path, body=None, token=None, source_ip=None, headers=None, timeout=10):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout, source_address=(source_ip, 0) if source_ip else None)
    hdrs = dict(headers or {})
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        hdrs["content-type"] = "application/json"
    if token:
        hdrs["authorization"] = f"Bearer {token}"
    conn.request(method, path, body=data, headers=hdrs)
    r = conn.getresponse()
    raw = r.read()
    conn.close()
    return r.status, (json.loads(raw) if raw else None)


def phone_of(i):
    return f"+7915{i:07d}"


def ip_of(i):
    # One loopback source address per phone, so the per-IP code limit (20 an
    # hour) is never what a benchmark measures.
    return f"127.{2 + i // 62500}.{(i // 250) % 250}.{i % 250 + 1}"


def request_codes(port, sms, first, n):
    """Requests codes for phones first..first+n through POST /auth/otp."""
    def one(i):
        status, _ = call(port, "POST", "/api/v1/auth/otp", {"phone": phone_of(i)}, source_ip=ip_of(i))
        return status
    with ThreadPoolExecutor(8) as ex:
        statuses = list(ex.map(one, range(first, first + n)))
    bad = [s for s in statuses if s != 202]
    if bad:
        sys.exit(f"code requests failed: {bad[:5]}")
    return [(phone_of(i), sms.codes[phone_of(i)]) for i in range(first, first + n)]


# Each logged-in phone's current refresh token (by phone index), so long
# runs renew their sessions through POST /auth/refresh, as the apps do,
# instead of asking for new codes (which the per-phone code limit refuses).
refresh_tokens = {}


def login(port, sms, i):
    (phone, code), = request_codes(port, sms, i, 1)
    status, body = call(port, "POST", "/api/v1/auth/verify", {"phone": phone, "code": code, "first_name": "Bench", "consents": {"personal_data": True}})
    assert status == 200, body
    refresh_tokens[i] = body["refresh_token"]
    return body["access_token"]


def renew(port, i):
    """A new access token for phone `i` from its refresh token (rotated).
    A 503 BUSY wrote nothing, so the same token is sent again after its
    Retry-After, as the apps do (a few times at most)."""
    for _ in range(10):
        status, body = call(port, "POST", "/api/v1/auth/refresh", {"refresh_token": refresh_tokens[i]})
        if status != 503:
            break
        time.sleep(1)
    assert status == 200, body
    refresh_tokens[i] = body["refresh_token"]
    return body["access_token"]


WEBHOOK_SECRET = "bench-webhook-secret"


def signed_events(business_id, member_id, first, n, distinct):
    """n generic payment.succeeded deliveries cycling over `distinct` events,
    each signed now (valid for 300 s)."""
    out = []
    t = int(time.time())
    for i in range(n):
        k = first + i % distinct
        body = json.dumps({"id": f"evt_{k}", "type": "payment.succeeded", "created": t, "data": {
            "payment_id": f"pay_{k}", "business_id": business_id, "amount": 10_000 + k % 5000,
            "currency": "RUB", "member_id": member_id}}, separators=(",", ":"))
        sig = hmac.new(WEBHOOK_SECRET.encode(), f"{t}.{body}".encode(), hashlib.sha256).hexdigest()
        out.append((body, f"t={t},v1={sig}"))
    return out


def webhook_script(directory, name, events, threads):
    items = ",".join("{[=[" + b + "]=],\"" + sig + "\"}" for b, sig in events)
    return lua_script(directory, name, LUA_THREADS + f"""
local items = {{{items}}}
local n = 0
request = function()
  local i = tid + n * {threads} + 1
  n = n + 1
  local it = items[((i - 1) % #items) + 1]
  return wrk.format("POST", "/webhooks/payments/generic", {{["content-type"] = "application/json", ["krug-signature"] = it[2]}}, it[1])
end
""")


def lua_script(directory, name, text):
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.write(text)
    return path


LUA_THREADS = """
local threads = {}
local next_id = 0
function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
end
"""


def verify_script(directory, pairs, threads):
    items = ",".join(f'{{"{p}","{c}"}}' for p, c in pairs)
    return lua_script(directory, f"verify-{len(pairs)}-{threads}.lua", LUA_THREADS + f"""
local items = {{{items}}}
local n = 0
request = function()
  local i = tid + n * {threads} + 1
  n = n + 1
  local it = items[((i - 1) % #items) + 1]
  local body = '{{"phone":"' .. it[1] .. '","code":"' .. it[2] .. '","consents":{{"personal_data":true}}}}'
  return wrk.format("POST", "/api/v1/auth/verify", {{["content-type"] = "application/json"}}, body)
end
""")


def get_script(directory, name, path, token):
    return lua_script(directory, name, f"""
request = function()
  return wrk.format("GET", "{path}", {{["authorization"] = "Bearer {token}"}})
end
""")


def pos_script(directory, name, route, token, bodies, tag):
    items = ",".join("[=[" + b + "]=]" for b in bodies)
    return lua_script(directory, name, LUA_THREADS + f"""
local bodies = {{{items}}}
local n = 0
request = function()
  n = n + 1
  local body = bodies[((n + tid) % #bodies) + 1]
  return wrk.format("POST", "/api/v1/pos/{route}", {{
    ["content-type"] = "application/json",
    ["authorization"] = "Bearer {token}",
    ["idempotency-key"] = "{tag}-" .. tid .. "-" .. n,
  }}, body)
end
""")


def bench_business(port, sms, admin_i, name):
    """An admin (phone `admin_i`), a gastronomy business with an API key,
    and 20 registered members (the next phones) with their card numbers."""
    admin = login(port, sms, admin_i)
    status, biz = call(port, "POST", "/api/v1/admin/businesses", {"name": name, "category": "gastronomy"}, token=admin)
    assert status == 201, biz
    status, key = call(port, "POST", f"/api/v1/admin/businesses/{biz['id']}/api-keys", {"name": "bench"}, token=admin)
    assert status == 201, key
    members = [login(port, sms, admin_i + 1 + i) for i in range(20)]
    cards = [call(port, "GET", "/api/v1/wallet", token=t)[1]["card_number"] for t in members]
    return admin, biz, key["api_key"], members, cards


class PgCluster:
    """A throwaway PostgreSQL server for the backend cells: initdb in a
    temporary directory (as the postgres user when run as root), 127.0.0.1
    on a free port, stopped by stop(). Commits are durable to the operating
    system but not flushed to disk each time (synchronous_commit off), which
    is what SQLite in WAL mode with synchronous=NORMAL gives the app too."""

    def __init__(self):
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not found:
            sys.exit("PostgreSQL is needed for the backend cells (Debian: apt-get install postgresql)")
        self.bin = os.path.dirname(found[-1])
        self.root = tempfile.mkdtemp(prefix="krug-bench-pg-")
        self.data = os.path.join(self.root, "data")
        self.as_root = os.geteuid() == 0
        if self.as_root:
            subprocess.run(["chown", "postgres:", self.root], check=True)
        self.port = free_port()
        self.tool("initdb", "-D", self.data, "-U", "krug", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
        opts = (f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories={self.root} "
                "-c synchronous_commit=off -c max_connections=300")
        self.tool("pg_ctl", "-D", self.data, "-o", opts, "-l", os.path.join(self.root, "server.log"), "-w", "-t", "60", "start")

    def tool(self, name, *args):
        cmd = [os.path.join(self.bin, name), *args]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)

    def create(self, name):
        """A new database; its URL."""
        self.tool("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "krug", name)
        return f"postgres://krug@127.0.0.1:{self.port}/{name}"

    def origin(self):
        return f"postgres://127.0.0.1:{self.port}"

    def stop(self):
        try:
            self.tool("pg_ctl", "-D", self.data, "-m", "fast", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


BACKEND_EARN = "POST /api/v1/pos/purchases (earn, 20 members)"
BACKEND_HOOK = "POST /webhooks/payments/generic (unique events)"


def backend_scenarios(port, sms, conns, duration, tmp, admin_i):
    """The two money-like writes compared across backends: POS earn and
    payment webhooks with all-new events, on a fresh business."""
    admin, biz, api_key, members, cards = bench_business(port, sms, admin_i, "Backend Cafe")
    bodies = [json.dumps({"member": {"card_number": card}, "amount": 150_000, "category": "gastronomy"}) for card in cards]
    for c in conns:
        yield (BACKEND_EARN, c, "/api/v1/pos/purchases", pos_script(tmp, f"b-earn-{c}.lua", "purchases", api_key, bodies, f"bearn{c}"))
    status, me = call(port, "GET", "/api/v1/me", token=members[2])
    assert status == 200, me
    next_event = 20_000_000
    for c in conns:
        n = max(2000, duration * 900)
        events = signed_events(biz["id"], me["id"], next_event, n, n)
        next_event += n
        yield (BACKEND_HOOK, c, "/webhooks/payments/generic", webhook_script(tmp, f"b-hook-{c}.lua", events, min(2, c)))


def backend_cells(env, conns, duration, sms):
    """Runs the backend scenarios on a fresh SQLite host, then on a fresh
    host whose database is PostgreSQL; {backend: {cell: {conns: result}}}."""
    out = {}
    pg = PgCluster()
    try:
        for backend in ("sqlite", "postgres"):
            benv = dict(env)
            if backend == "postgres":
                benv["SPIN_VARIABLE_DATABASE"] = "postgres"
                benv["SPIN_VARIABLE_POSTGRES_URL"] = pg.create("krug_bench")
                benv["SPIN_VARIABLE_POSTGRES_HOST"] = pg.origin()
            state = tempfile.mkdtemp(prefix=f"krug-bench-{backend}-")
            tmp = tempfile.mkdtemp(prefix="krug-bench-lua-")
            port = free_port()
            host, _ = start_host(state, port, benv)
            try:
                # Each backend's setup needs its own admin (one code a minute per phone).
                admin_i = 700_000 if backend == "sqlite" else 800_000
                for name, c, path, script in backend_scenarios(port, sms, conns, duration, tmp, admin_i):
                    out.setdefault(backend, {}).setdefault(name, {})[c] = wrk(f"http://127.0.0.1:{port}{path}", c, duration, script)
            finally:
                host.stop()
                shutil.rmtree(tmp, ignore_errors=True)
                shutil.rmtree(state, ignore_errors=True)
    finally:
        pg.stop()
    return out


def backend_lines(cells):
    """The backend table: each PostgreSQL figure beside SQLite's in the same run."""
    lines = ["## SQLite and PostgreSQL (the same cells on a fresh host of each, same run)", "",
             "Statements per request as each database received them: on PostgreSQL every write transaction is `BEGIN`, the",
             "writers' lock, its statements and `COMMIT`, and each request first ends any transaction left on its pooled",
             "connection (`ROLLBACK`).", "",
             "| route | conns | SQLite req/s | p50 ms | p99 ms | stmts | PostgreSQL req/s | p50 ms | p99 ms | stmts | PG ÷ SQLite |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    lite, pg = cells.get("sqlite", {}), cells.get("postgres", {})
    for name, by_c in lite.items():
        for c, a in sorted(by_c.items()):
            b = pg.get(name, {}).get(c)
            if not b:
                continue
            # Busy answers are SQLite's `BEGIN IMMEDIATE` tries that found the
            # lock taken; PostgreSQL queues for its lock inside one statement.
            stm = lambda r: (f"{r['sql']['stmts']:.1f}" + (f" ({r['sql']['busy']:.1f} busy)" if r['sql']['busy'] else "")
                             if r.get("sql") else "–")
            ratio = b["rps"] / a["rps"] if a["rps"] else 0
            # Non-2xx answers (503 BUSY once a write waited 3 s) beside the
            # side that gave them.
            rps = lambda r: f"{r['rps']:.0f}" + (f" ({r['non2xx']} non-2xx)" if r["non2xx"] else "")
            lines.append(f"| {name} | {c} | {rps(a)} | {a['p50']:.2f} | {a['p99']:.2f} | {stm(a)} | "
                         f"{rps(b)} | {b['p50']:.2f} | {b['p99']:.2f} | {stm(b)} | {ratio:.2f} |")
    return lines


def app_scenarios(port, sms, conns, duration, tmp, results):
    """Sets up members, a business and its API key through the API, then
    yields (name, conns, path, script) cells; scripts that need fresh data
    (codes, QR tokens) are made just before their cell."""
    admin, biz, api_key, members, cards = bench_business(port, sms, 0, "Bench Cafe")
    # Enough points to redeem for the whole run (compensations are available at once).
    for i, card in enumerate(cards):
        for j in range(2):
            status, body = call(port, "POST", "/api/v1/pos/compensations", {"member": {"card_number": card}, "points": 500_000_000, "reason": "bench", "order_ref": f"seed-{i}-{j}"}, token=api_key, headers={"idempotency-key": f"seed-{i}-{j}"})
            assert status == 201, body

    yield ("GET /api/v1/me (JWT + one SELECT)", None, "/api/v1/me", get_script(tmp, "me.lua", "/api/v1/me", members[0]))
    next_phone = 1000
    for c in conns:
        # Codes live 5 minutes and each verifies once: fetch them per cell.
        need = max(500, int(duration * 700))
        pairs = request_codes(port, sms, next_phone, need)
        next_phone += need
        yield ("POST /api/v1/auth/verify (new member)", c, "/api/v1/auth/verify", verify_script(tmp, pairs, min(2, c)))
    bodies = [json.dumps({"member": {"card_number": card}, "amount": 150_000, "category": "gastronomy"}) for card in cards]
    yield ("POST /api/v1/pos/purchases (earn, 20 members)", None, "/api/v1/pos/purchases", pos_script(tmp, "earn.lua", "purchases", api_key, bodies, "earn"))
    for c in conns:
        # QR tokens are accepted for 60 s: issue them just before the cell.
        tokens = [call(port, "GET", "/api/v1/wallet/qr", token=t)[1]["token"] for t in members]
        bodies = [json.dumps({"member": {"qr_token": tok}, "points": 100, "order_ref": f"o-{i}"}) for i, tok in enumerate(tokens)]
        yield ("POST /api/v1/pos/redemptions (20 members)", c, "/api/v1/pos/redemptions", pos_script(tmp, f"spend-{c}.lua", "redemptions", api_key, bodies, f"spend{c}"))
    # Checkout: 500 active auto campaigns at this business, 10 of them
    # matching the cart (stackable), 490 with a SKU the cart lacks.
    for i in range(500):
        body = {"name": f"Campaign {i}", "kind": "percent", "value": 1, "auto": True, "stackable": True, "businesses": [biz["id"]]}
        if i >= 10:
            body["conditions"] = {"skus": [f"NOT-IN-CART-{i}"]}
        status, out = call(port, "POST", "/api/v1/admin/promos", body, token=admin)
        assert status == 201, out
    status, out = call(port, "POST", "/api/v1/admin/promos", {"code": "BENCH", "name": "Bench code", "kind": "fixed", "value": 100, "stackable": True, "businesses": [biz["id"]]}, token=admin)
    assert status == 201, out
    items = [{"sku": f"SKU-{i}", "category": "gastronomy", "quantity": 1 + i % 3, "unit_price": 10_000 + 137 * i} for i in range(20)]
    quote_body = json.dumps({"business_id": biz["id"], "channel": "app", "items": items, "promo_codes": ["bench"]})
    quote_cell = "POST /api/v1/checkout/quote (20 lines, 500 campaigns, 10 apply)"
    quote_lua = f"""
local body = [=[{quote_body}]=]
request = function()
  return wrk.format("POST", "/api/v1/checkout/quote", {{["content-type"] = "application/json", ["authorization"] = "Bearer {members[1]}"}}, body)
end
"""
    yield (quote_cell, None, "/api/v1/checkout/quote", lua_script(tmp, "quote.lua", quote_lua))
    # The same quotes paced at half the rate just measured at the lowest
    # concurrency: the latency a checkout sees when the engine is not
    # saturated. Each connection waits between requests so that all of
    # them together send about half that rate.
    paced_c = conns[0]
    full = results.get(quote_cell, {}).get(paced_c)
    if full and full["rps"] > 0:
        interval_ms = paced_c * 1000 / (full["rps"] / 2)
        pause = max(0, round(interval_ms - full["p50"]))
        yield (f"POST /api/v1/checkout/quote (paced at half the {paced_c}-connection rate)", paced_c, "/api/v1/checkout/quote",
               lua_script(tmp, "quote-paced.lua", quote_lua + f"""
delay = function()
  return {pause}
end
"""))
    # Reservations race for one popular coded promo whose total uses and
    # budget are limited (far above what a run uses, so none is refused):
    # every reservation reads its usage under the write lock.
    status, out = call(port, "POST", "/api/v1/admin/promos", {"code": "RACE", "name": "Popular code", "kind": "fixed", "value": 100, "stackable": True, "businesses": [biz["id"]], "limits": {"total": 100_000_000, "budget": 100_000_000_000}}, token=admin)
    assert status == 201, out
    head = json.dumps({"business_id": biz["id"], "channel": "app", "items": items[:3], "promo_codes": ["RACE"]})[:-1]
    tokens = ",".join(f'"{t}"' for t in members)
    for c in conns:
        # 20 members, one order each per request, all for the same promo.
        yield ("POST /api/v1/checkout/reservations (contention: one limited promo, 20 members)", c, "/api/v1/checkout/reservations", lua_script(tmp, f"reserve-{c}.lua", LUA_THREADS + f"""
local tokens = {{{tokens}}}
local n = 0
request = function()
  n = n + 1
  local body = [=[{head}]=] .. ',"order_ref":"r{c}-' .. tid .. '-' .. n .. '"}}'
  local t = tokens[((n + tid) % #tokens) + 1]
  return wrk.format("POST", "/api/v1/checkout/reservations", {{["content-type"] = "application/json", ["authorization"] = "Bearer " .. t}}, body)
end
"""))
    # Payment webhooks: all-new events, then a duplicate-heavy mix (100
    # events delivered over and over: after the first 100, all duplicates).
    # Signed just before each cell.
    status, me = call(port, "GET", "/api/v1/me", token=members[2])
    member_id = me["id"]
    next_event = 0
    for c in conns:
        events = signed_events(biz["id"], member_id, next_event, max(2000, duration * 900), max(2000, duration * 900))
        next_event += len(events)
        yield ("POST /webhooks/payments/generic (unique events)", c, "/webhooks/payments/generic", webhook_script(tmp, f"hook-{c}.lua", events, min(2, c)))
    for c in conns:
        events = signed_events(biz["id"], member_id, 10_000_000 + 1000 * c, 4000, 100)
        yield ("POST /webhooks/payments/generic (duplicate-heavy: 100 events cycled)", c, "/webhooks/payments/generic", webhook_script(tmp, f"dup-{c}.lua", events, min(2, c)))
    # Support: a member opens tickets (ticket, first message and outbox row
    # in one transaction); the outbox they fill is delivered after the run.
    ticket_body = json.dumps({"subject": "Баллы не пришли", "body": "Купил вчера в Bench Cafe, баллов нет. <Помогите> & спасибо", "business_id": biz["id"]})
    yield ("POST /api/v1/support/tickets (ticket + message + outbox)", None, "/api/v1/support/tickets", lua_script(tmp, "ticket.lua", f"""
local body = [=[{ticket_body}]=]
request = function()
  return wrk.format("POST", "/api/v1/support/tickets", {{["content-type"] = "application/json", ["authorization"] = "Bearer {members[3]}"}}, body)
end
"""))
    for c in conns:
        tok = call(port, "GET", "/api/v1/wallet/qr", token=members[0])[1]["token"]
        body = json.dumps({"member": {"qr_token": tok}, "points": 100, "order_ref": "hot"})
        yield ("POST /api/v1/pos/redemptions (contention: one member)", c, "/api/v1/pos/redemptions", pos_script(tmp, f"hot-{c}.lua", "redemptions", api_key, [body], f"hot{c}"))


FLAGS_CELL = "GET /api/v1/flags (anonymous: flag snapshot from key-value)"
def review_scenarios(port, sms, conns, duration, tmp, state):
    """Reviews: POST /reviews (each request a new verified purchase of a
    fresh member, at most 5 per member), then GET /ratings and GET /reviews
    of one business holding 10 000 published reviews (seeded straight into
    the database, aggregate row included)."""
    import sqlite3
    import uuid
    admin = login(port, sms, 400_000)
    status, biz = call(port, "POST", "/api/v1/admin/businesses", {"name": "Bench Florist", "category": "floristry"}, token=admin)
    assert status == 201, biz
    status, big = call(port, "POST", "/api/v1/admin/businesses", {"name": "Bench Big", "category": "beauty"}, token=admin)
    assert status == 201, big
    need = max(500, duration * 600)
    writers = (need + 4) // 5
    pairs = request_codes(port, sms, 500_000, writers)

    def verify(pc):
        status, body = call(port, "POST", "/api/v1/auth/verify", {"phone": pc[0], "code": pc[1], "first_name": "Bench", "last_name": "Reviewer", "consents": {"personal_data": True}})
        assert status == 200, body
        return body["access_token"], body["member"]["id"]
    with ThreadPoolExecutor(8) as ex:
        members = list(ex.map(verify, pairs))
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
    db = sqlite3.connect(os.path.join(state, "sqlite_db.db"), timeout=30)
    purchase_rows, jobs = [], []
    for token, member_id in members:
        for _ in range(5):
            pid = str(uuid.uuid4())
            purchase_rows.append((pid, member_id, biz["id"], now, now))
            jobs.append((token, pid))
    db.executemany(
        "INSERT INTO purchases (id, member_id, business_id, source, amount, category, tier_at_purchase, "
        "first_in_category, points_computed, points_earned, actor_role, paid_at, created_at) "
        "VALUES (?, ?, ?, 'pos', 150000, 'floristry', 'insider', 0, 0, 0, 'api_key', ?, ?)", purchase_rows)
    # 10 000 published reviews of one business by 200 other members.
    authors = [str(uuid.uuid4()) for _ in range(200)]
    db.executemany("INSERT INTO members (id, first_name, last_name, created_at) VALUES (?, 'Анна', 'Иванова', ?)",
                   [(a, now) for a in authors])
    stars = [0] * 5
    rows = []
    for i in range(10_000):
        rating = 1 + (i * 7) % 5
        stars[rating - 1] += 1
        at = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - 10_000 + i)) + ".000000Z"
        rows.append((str(uuid.uuid4()), authors[i % len(authors)], big["id"], str(uuid.uuid4()), rating, f"Отзыв номер {i}: всё понравилось", at, at, at))
    db.executemany(
        "INSERT INTO reviews (id, member_id, business_id, target_type, target_key, purchase_id, rating, body, "
        "status, published_at, created_at, updated_at) VALUES (?, ?, ?, 'business', '', ?, ?, ?, 'published', ?, ?, ?)", rows)
    total = sum((i + 1) * n for i, n in enumerate(stars))
    for bid, key in ((big["id"], ""), ("*", "*")):
        db.execute(
            "INSERT INTO review_ratings (target_type, business_id, target_key, count, total, n1, n2, n3, n4, n5) "
            "VALUES ('business', ?, ?, ?, ?, ?, ?, ?, ?, ?)", (bid, key, 10_000, total, *stars))
    db.commit()
    db.close()
    c = 16 if 16 in conns else conns[0]
    items = ",".join(f'{{"{t}","{p}"}}' for t, p in jobs)
    yield ("POST /api/v1/reviews (verified purchase, published + reward)", c, "/api/v1/reviews", lua_script(tmp, "review.lua", LUA_THREADS + f"""
local items = {{{items}}}
local n = 0
request = function()
  local i = tid + n * {min(2, c)} + 1
  n = n + 1
  local it = items[((i - 1) % #items) + 1]
  local body = '{{"target":{{"type":"business"}},"purchase_id":"' .. it[2] .. '","rating":5,"text":"Свежие цветы, вежливый продавец"}}'
  return wrk.format("POST", "/api/v1/reviews", {{["content-type"] = "application/json", ["authorization"] = "Bearer " .. it[1]}}, body)
end
"""))
    yield ("GET /api/v1/ratings (business with 10 000 reviews)", None, f"/api/v1/ratings?business_id={big['id']}", None)
    yield ("GET /api/v1/reviews (10 000 reviews, newest, page of 20)", None, f"/api/v1/reviews?business_id={big['id']}", None)
    yield ("GET /api/v1/reviews (10 000 reviews, rating_desc, page of 20)", None, f"/api/v1/reviews?business_id={big['id']}&sort=rating_desc", None)


SALEOR_BUSINESS = "0190f0f0-0000-7000-8000-0000000bea01"


class SaleorKeys:
    """A Saleor shop stand-in: an RSA key made by openssl, served as a JWKS
    at /.well-known/jwks.json, and RS256 detached-payload JWS signing (the
    PKCS#1 v1.5 arithmetic done here with the key's CRT parts)."""

    def __init__(self, tmp):
        import base64
        pem = os.path.join(tmp, "saleor.pem")
        subprocess.run(["openssl", "genrsa", "-out", pem, "2048"], check=True, capture_output=True)
        text = subprocess.run(["openssl", "rsa", "-in", pem, "-noout", "-text"], check=True, capture_output=True, text=True).stdout
        parts = {}
        for name, hexes in re.findall(r"^(\w+):\s*\n((?:\s+[0-9a-f:]+\n)+)", text, re.M):
            parts[name] = int(re.sub(r"[\s:]", "", hexes), 16)
        self.n, self.d = parts["modulus"], parts["privateExponent"]
        self.p, self.q = parts["prime1"], parts["prime2"]
        self.dp, self.dq, self.qinv = parts["exponent1"], parts["exponent2"], parts["coefficient"]
        self.e = int(re.search(r"publicExponent: (\d+)", text).group(1))
        b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
        self.b64 = b64
        size = (self.n.bit_length() + 7) // 8
        self.size = size
        jwks = json.dumps({"keys": [{"kty": "RSA", "kid": "bench", "use": "sig",
                                     "n": b64(self.n.to_bytes(size, "big")),
                                     "e": b64(self.e.to_bytes((self.e.bit_length() + 7) // 8, "big"))}]}).encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200 if self.path == "/.well-known/jwks.json" else 404)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(jwks)))
                self.end_headers()
                self.wfile.write(jwks)

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.header = b64(b'{"alg":"RS256","b64":false,"crit":["b64"],"kid":"bench"}')

    def sign(self, body):
        digest_info = bytes.fromhex("3031300d060960864801650304020105000420") + hashlib.sha256(self.header.encode() + b"." + body).digest()
        em = b"\x00\x01" + b"\xff" * (self.size - len(digest_info) - 3) + b"\x00" + digest_info
        m = int.from_bytes(em, "big")
        s1, s2 = pow(m, self.dp, self.p), pow(m, self.dq, self.q)
        sig = s2 + self.q * ((self.qinv * (s1 - s2)) % self.p)
        return f"{self.header}..{self.b64(sig.to_bytes(self.size, 'big'))}"

    def stop(self):
        self.server.shutdown()


def referral_scenarios(port, sms, conns, duration, tmp, state, keys):
    """Referral: GET /referrals/me of a member with 50 referrals, and Saleor
    ORDER_PAID webhooks (each a new order of one of 20 known buyers, RS256
    signature verified against the cached JWKS, then a purchase with
    points)."""
    import sqlite3
    import uuid
    token = login(port, sms, 900_000)
    status, me = call(port, "GET", "/api/v1/referrals/me", token=token)
    assert status == 200, me
    # 20 buyers known by their e-mail, so one member's growing purchase
    # history does not stand in for the webhook's cost.
    for b in range(20):
        buyer = login(port, sms, 900_001 + b)
        status, profile = call(port, "PATCH", "/api/v1/me", {"email": f"bench-buyer-{b}@shop.ru"}, token=buyer)
        assert status == 200, profile
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
    db = sqlite3.connect(os.path.join(state, "sqlite_db.db"), timeout=30)
    db.execute("INSERT INTO businesses (id, name, category, timezone, points_multiplier, medical, created_at) "
               "VALUES (?, 'Bench Saleor Shop', 'home', 'Europe/Moscow', 1.0, 0, ?)", (SALEOR_BUSINESS, now))
    status, who = call(port, "GET", "/api/v1/me", token=token)
    friends = [str(uuid.uuid4()) for _ in range(50)]
    db.executemany("INSERT INTO members (id, first_name, created_at) VALUES (?, 'Друг', ?)", [(f, now) for f in friends])
    db.executemany("INSERT INTO referrals (id, referrer_id, referred_id, code, source, state, created_at, updated_at) "
                   "VALUES (?, ?, ?, ?, 'registration', ?, ?, ?)",
                   [(str(uuid.uuid4()), who["id"], f, me["code"], "tracked" if i % 2 else "rewarded", now, now) for i, f in enumerate(friends)])
    db.commit()
    db.close()
    yield ("GET /api/v1/referrals/me (50 referrals)", None, "/api/v1/referrals/me", lua_script(tmp, "referral_me.lua", f"""
request = function()
  return wrk.format("GET", "/api/v1/referrals/me", {{["authorization"] = "Bearer {token}"}})
end
"""))
    c = 16 if 16 in conns else conns[0]
    need = max(500, duration * 800)

    def order(i):
        return json.dumps({"order": {"id": f"bench-order-{i}", "number": str(10_000 + i), "chargeStatus": "FULL",
                                     "userEmail": f"bench-buyer-{i % 20}@shop.ru",
                                     "total": {"gross": {"amount": 1500.5, "currency": "RUB"}},
                                     "metadata": [], "lines": [{"productSku": "SKU-1", "productName": "Товар", "quantity": 1,
                                                                "unitPrice": {"gross": {"amount": 1500.5}}}]}},
                          ensure_ascii=False, separators=(",", ":"))

    items = []
    for i in range(need):
        body = order(i)
        items.append(f'{{[==[{body}]==],"{keys.sign(body.encode())}"}}')
    # One delivery first, so the cell measures what it says (verification
    # against the cached keys), not 16 first deliveries fetching them at once.
    warm = order(-1).encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("POST", "/webhooks/saleor", body=warm, headers={"content-type": "application/json", "saleor-event": "order_paid", "saleor-signature": keys.sign(warm)})
    r = conn.getresponse()
    r.read()
    conn.close()
    assert r.status == 200, r.status
    yield ("POST /webhooks/saleor (new ORDER_PAID, RS256 verified, purchase, 20 buyers)", c, "/webhooks/saleor", lua_script(tmp, "saleor.lua", LUA_THREADS + f"""
local items = {{{",".join(items)}}}
local n = 0
request = function()
  local i = tid + n * {min(2, c)} + 1
  n = n + 1
  local it = items[((i - 1) % #items) + 1]
  return wrk.format("POST", "/webhooks/saleor", {{["content-type"] = "application/json", ["saleor-event"] = "order_paid", ["saleor-signature"] = it[2]}}, it[1])
end
"""))


PREORDER_CELL = "POST /api/v1/preorders (contention: one limited tier)"
def preorder_scenarios(port, sms, conns, duration, tmp):
    """Preorders: every request takes a unit of the same limited tier (one
    conditional counter update in BEGIN IMMEDIATE), spread over fresh
    members (at most 100 preorders each); the tier's limit is far above
    what a run sells, so every request is a sale, not a sold-out answer."""
    admin = login(port, sms, 600_000)
    status, biz = call(port, "POST", "/api/v1/admin/businesses", {"name": "Bench Box", "category": "gastronomy"}, token=admin)
    assert status == 201, biz
    iso = lambda off: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + off))
    day = 86400
    status, item = call(port, "POST", "/api/v1/admin/preorder-items", {
        "business_id": biz["id"], "title": "Bench tasting set", "release_at": iso(30 * day),
        "cancellation_deadline": iso(20 * day), "per_member_limit": 100,
        "refund_policy": {"full_until": iso(5 * day), "partial_percent": 50, "none_after": iso(10 * day)}}, token=admin)
    assert status == 201, item
    status, tier = call(port, "POST", f"/api/v1/admin/preorder-items/{item['id']}/tiers", {
        "name": "Limited", "base_price": 250000, "discount_percent": 10, "max_quantity": 1000000,
        "early_access_days": 3, "available_from": iso(-60), "available_until": iso(25 * day), "priority": 1,
        "bonuses": [{"type": "points", "value": 1000, "delivery": "automatic"}]}, token=admin)
    assert status == 201, tier
    need = max(20, duration * len(conns) * 900 // 100 + 1)
    pairs = request_codes(port, sms, 700_000, need)

    def verify(pc):
        status, body = call(port, "POST", "/api/v1/auth/verify", {"phone": pc[0], "code": pc[1], "first_name": "Bench", "consents": {"personal_data": True}})
        assert status == 200, body
        return body["access_token"]
    with ThreadPoolExecutor(8) as ex:
        tokens = list(ex.map(verify, pairs))
    items = ",".join(f'"{t}"' for t in tokens)
    # Each connection's n-th request uses the next member in turn, so no
    # member passes the per-member limit of 100 within a run.
    yield (PREORDER_CELL, None, "/api/v1/preorders", lua_script(tmp, "preorder.lua", LUA_THREADS + f"""
local tokens = {{{items}}}
local n = 0
local body = '{{"tier_id":"{tier["id"]}"}}'
request = function()
  n = n + 1
  local t = tokens[((n * 7 + tid) % #tokens) + 1]
  return wrk.format("POST", "/api/v1/preorders", {{["content-type"] = "application/json", ["authorization"] = "Bearer " .. t}}, body)
end
"""))


def sign_token(jwt_secret, member_id, family_id, roles=("member",)):
    """An access token as auth issues it, signed with the run's secret."""
    import base64
    import uuid

    def b64(raw):
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    now = int(time.time())
    claims = {"sub": member_id, "roles": list(roles), "sid": family_id, "iat": now, "exp": now + 3600, "jti": str(uuid.uuid4())}
    head = b64(b'{"alg":"HS256","typ":"JWT"}') + "." + b64(json.dumps(claims).encode())
    sig = hmac.new(jwt_secret.encode(), head.encode(), hashlib.sha256).digest()
    return head + "." + b64(sig)


ANALYTICS_CELLS = ("overview", "customer-sources", "customer-destinations", "win-win-chains", "rfm-segments", "churn-risk")


def analytics_scenarios(port, conns, duration, tmp, state, jwt_secret, jobs_token, metrics_token):
    """Analytics over a generated year: 1 000 000 purchases over 50
    businesses and 20 000 members (scripts/gen_purchases.py, written
    straight into the database), the rollups rebuilt and the nightly job
    run through the app's own jobs (both timed), then every report of one
    mid-sized business (default period: the last 30 days), the club
    dashboard, a 30-day CSV export and /metrics, as an admin."""
    import sqlite3
    import uuid
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from gen_purchases import generate

    db_path = os.path.join(state, "sqlite_db.db")
    started = time.time()
    businesses, n = generate(db_path, 1_000_000, 50, 20_000)
    generated_s = time.time() - started
    timings = {}
    for job in ("rebuild-analytics", "analytics-nightly"):
        started = time.time()
        status, body = call(port, "POST", f"/internal/jobs/{job}", token=jobs_token, timeout=600)
        assert status == 200, body
        timings[job] = time.time() - started
    db = sqlite3.connect(db_path, timeout=30)
    admin, family = str(uuid.uuid4()), str(uuid.uuid4())
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
    db.execute("INSERT INTO members (id, first_name, created_at) VALUES (?, 'Bench', ?)", (admin, now))
    db.execute("INSERT INTO login_families (id, member_id, created_at) VALUES (?, ?, ?)", (family, admin, now))
    # The business with the median number of purchases in the last 30 days.
    since = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime(time.time() - 30 * 86_400))
    ranked = db.execute("SELECT business_id, COUNT(*) FROM purchases WHERE paid_at >= ? GROUP BY business_id ORDER BY 2",
                        (since,)).fetchall()
    biz, recent = ranked[len(ranked) // 2]
    db.commit()
    db.close()
    token = sign_token(jwt_secret, admin, family, ("member", "admin"))
    ANALYTICS_NOTES.append(f"Analytics data: {n} purchases generated in {generated_s:.1f} s; `rebuild-analytics` "
                           f"over them {timings['rebuild-analytics']:.1f} s, `analytics-nightly` {timings['analytics-nightly']:.1f} s "
                           f"(both through the host, as the scheduler runs them); the reports' business has {recent} purchases in the last 30 days.")
    for cell in ANALYTICS_CELLS:
        path = f"/api/v1/analytics/businesses/{biz}/{cell}"
        yield (f"GET analytics {cell} (1M purchases, 30 days)", None, path, get_script(tmp, f"an-{cell}.lua", path, token))
    yield ("GET /api/v1/analytics/club (1M purchases, 30 days)", None, "/api/v1/analytics/club",
           get_script(tmp, "an-club.lua", "/api/v1/analytics/club", token))
    path = f"/api/v1/analytics/businesses/{biz}/export?format=csv"
    yield (f"GET analytics export (30 days, {recent} rows streamed)", conns[0], path, get_script(tmp, "an-export.lua", path, token))
    yield ("GET /metrics (1M purchases, 20 000 members)", None, "/metrics", get_script(tmp, "an-metrics.lua", "/metrics", metrics_token))


ANALYTICS_NOTES = []

INGEST_NOTES = []


def post_raw(port, path, body, token, content_type, timeout=600):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    conn.request("POST", path, body=body, headers={"content-type": content_type, "authorization": f"Bearer {token}"})
    r = conn.getresponse()
    raw = r.read()
    conn.close()
    return r.status, (json.loads(raw) if raw else None)


INGEST_MEMBERS = 5_000


def ingest_scenarios(port, sms, conns, duration, tmp, state):
    """Partner ingest against the till in the same run: the till's
    single-purchase cell (wrk, 20 members), then 1 000-row JSON batches
    from `conns[0]` clients and 10 000-row CSV uploads one after another
    (timed here: a batch is one request of seconds), every row a new sale
    of one of 5 000 members (written straight into the database, as a
    partner's customer base), so each member's history stays as short as
    a real one and the pipeline's per-member reads are what they are."""
    import sqlite3
    import uuid
    _, _, api_key, _, cards = bench_business(port, sms, 950_000, "Bench Ingest")
    db = sqlite3.connect(os.path.join(state, "sqlite_db.db"), timeout=30)
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
    phones = [f"+7916{i:07d}" for i in range(INGEST_MEMBERS)]
    db.executemany("INSERT INTO members (id, phone, phone_sha256, first_name, card_number, referral_code, created_at) "
                   "VALUES (?, ?, ?, 'Гость', ?, ?, ?)",
                   [(str(uuid.uuid4()), ph, hashlib.sha256(ph.encode()).hexdigest(), f"29{i:011d}", f"BI{i:06d}", now)
                    for i, ph in enumerate(phones)])
    db.commit()
    db.close()
    bodies = [json.dumps({"member": {"card_number": card}, "amount": 150_000, "category": "gastronomy"}) for card in cards]
    till = "POST /api/v1/pos/purchases (ingest baseline: the till, 20 members)"
    yield (till, conns[0], "/api/v1/pos/purchases", pos_script(tmp, "ingest-till.lua", "purchases", api_key, bodies, "ingest-till"))
    day = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600))
    seq = [0]

    def batch(n):
        rows = []
        for _ in range(n):
            seq[0] += 1
            i = seq[0]
            rows.append({"external_id": f"j-{i}", "occurred_at": day, "amount": 10_000 + i % 5_000, "customer": {"phone": phones[i % len(phones)]}})
        return json.dumps({"transactions": rows}).encode()

    def timed(fn):
        started = time.time()
        out = fn()
        return time.time() - started, out

    batches = [batch(1000) for _ in range(2 * conns[0])]
    def send_batch(b):
        return timed(lambda: post_raw(port, "/api/v1/ingest/transactions", b, api_key, "application/json"))
    started = time.time()
    with ThreadPoolExecutor(conns[0]) as ex:
        done = list(ex.map(send_batch, batches))
    wall = time.time() - started
    for _, (status, body) in done:
        assert status == 200 and body["accepted"] == 1000, (status, str(body)[:300])
    lat = sorted(d for d, _ in done)
    json_rate = len(batches) * 1000 / wall
    csvs = []
    for u in range(2):
        lines = ["\ufeffexternal_id;date;customer_phone;amount;category;description"]
        for r in range(10_000):
            lines.append(f"c{u}-{r};{time.strftime('%d.%m.%Y', time.gmtime(time.time() - 86400))};{phones[(u * 10_000 + r + 7) % len(phones)]};{100 + r % 900},50;gastronomy;Обед")
        csvs.append(("\r\n".join(lines) + "\r\n").encode())
    csv_times = []
    for body in csvs:
        d, (status, out) = timed(lambda: post_raw(port, "/api/v1/ingest/transactions.csv", body, api_key, "text/csv"))
        assert status == 200 and out["accepted"] == 10_000, (status, str(out)[:300])
        csv_times.append(d)
    csv_rate = 10_000 * len(csvs) / sum(csv_times)
    INGEST_NOTES.append((till, conns[0], json_rate, lat, csv_rate, csv_times, len(csvs[0])))


def event_scenarios(conns, duration, tmp, state, jwt_secret):
    """Events: POST /events/{id}/register on one popular event (100 seats,
    everyone after that waitlisted: every registration contends for the
    same event row under BEGIN IMMEDIATE), each request a fresh member; then
    GET /events (upcoming, page of 20, as a member) over 1 000 upcoming
    events. Members, their sessions and the events are seeded straight
    into the database; access tokens are signed here with the run's
    jwt_secret."""
    import sqlite3
    import uuid

    def token(member_id, family_id):
        return sign_token(jwt_secret, member_id, family_id)

    def at(offset_s):
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() + offset_s)) + ".000000Z"

    now = at(0)
    need = max(2000, duration * 1500)
    db = sqlite3.connect(os.path.join(state, "sqlite_db.db"), timeout=30)
    biz = str(uuid.uuid4())
    db.execute("INSERT INTO businesses (id, name, category, created_at) VALUES (?, 'Bench Events', 'gastronomy', ?)", (biz, now))
    members = [(str(uuid.uuid4()), str(uuid.uuid4())) for _ in range(need + 1)]
    db.executemany("INSERT INTO members (id, first_name, created_at) VALUES (?, 'Bench', ?)", [(m, now) for m, _ in members])
    db.executemany("INSERT INTO login_families (id, member_id, created_at) VALUES (?, ?, ?)", [(f, m, now) for m, f in members])
    columns = ("INSERT INTO events (id, business_id, title, description, type, format, price, starts_at, ends_at, "
               "address, capacity, min_tier, plus_one_allowed, program, created_by, created_at, updated_at) "
               "VALUES (?, ?, ?, 'Дегустация', 'tasting', 'free', 0, ?, ?, 'ул. Примерная, 10', ?, 'insider', 1, "
               "'[{\"time\":\"19:00\",\"activity\":\"Коктейль\"}]', 'bench', ?, ?)")
    popular = str(uuid.uuid4())
    db.execute(columns, (popular, biz, "Popular", at(86_400), at(90_000), 100, now, now))
    db.executemany(columns, [(str(uuid.uuid4()), biz, f"Событие {i}", at(3_600 + i * 600), at(7_200 + i * 600), 30, now, now)
                             for i in range(1_000)])
    db.commit()
    db.close()
    reader = token(*members[-1])
    c = 16 if 16 in conns else conns[0]
    items = ",".join(f'"{token(m, f)}"' for m, f in members[:-1])
    yield ("POST /api/v1/events/{id}/register (one popular event, 100 seats then waitlist)", c, f"/api/v1/events/{popular}/register", lua_script(tmp, "register.lua", LUA_THREADS + f"""
local items = {{{items}}}
local n = 0
request = function()
  local i = tid + n * {min(2, c)} + 1
  n = n + 1
  local t = items[((i - 1) % #items) + 1]
  return wrk.format("POST", "/api/v1/events/{popular}/register", {{["authorization"] = "Bearer " .. t}})
end
"""))
    yield ("GET /api/v1/events (1 000 upcoming, page of 20, as a member)", None, "/api/v1/events",
           get_script(tmp, "events.lua", "/api/v1/events", reader))


def fmt_row(name, conns, r, base, health=None):
    ratio = r["rps"] / base["rps"] if base and base["rps"] else 1.0
    vs_health = f"{r['rps'] / health['rps']:.2f}" if health and health["rps"] else "–"
    extra = f" non-2xx {r['non2xx']}" if r["non2xx"] else ""
    q = r.get("sql") or {}
    if q:
        sql = f"{q['stmts']:.1f} | {q['busy']:.2f} | {q['sql_ms']:.2f} | {q['first_ms']:.2f} | {max(q['total_ms'] - q['sql_ms'], 0):.2f}"
    else:
        sql = "– | – | – | – | –"
    cpu = f"{r['cpu_ms']:.2f}" if r.get("cpu_ms") is not None else "–"
    return f"| {name} | {conns} | {r['rps']:.0f} | {r['p50']:.2f} | {r['p99']:.2f} | {ratio:.2f} | {vs_health}{extra} | {cpu} | {sql} |"


# Schema variants for the first-statement cell: which tables a database
# holds decides what every connection to it parses.
SCHEMA_GROUPS = {
    "support, flags, ingest and analytics tables moved out": ("support_", "faq_", "feature_flags", "analytics_", "integrations", "sync_runs", "app_events"),
    "money core only (auth, wallet, promo, payments, platform)": ("support_", "faq_", "feature_flags", "analytics_", "integrations", "sync_runs", "app_events",
                                                                "review", "purchase_lines", "referral", "member_devices", "preorder", "event", "proposal"),
}


def first_statement_cells(db_path, tmp):
    """The cost of opening a connection and running its first statement,
    against the app's schema, against subsets of it and against an empty
    database (native, same SQLite build as the host)."""
    import sqlite3
    src = sqlite3.connect(db_path)
    objects = src.execute("SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE sql IS NOT NULL").fetchall()
    src.close()
    variants = [("the app's schema", db_path, len(objects))]
    for label, prefixes in SCHEMA_GROUPS.items():
        path = os.path.join(tmp, f"variant-{len(variants)}.db")
        db = sqlite3.connect(path)
        kept = [sql for _, _, tbl, sql in objects if not tbl.startswith(prefixes)]
        for sql in kept:
            db.execute(sql)
        db.commit()
        db.close()
        variants.append((label, path, len(kept)))
    empty = os.path.join(tmp, "empty.db")
    db = sqlite3.connect(empty)
    db.execute("CREATE TABLE t (x INTEGER)")
    db.commit()
    db.close()
    variants.append(("one table", empty, 1))
    out = []
    for label, path, n in variants:
        res = json.loads(subprocess.run([FIRST_BIN, path, "2000"], capture_output=True, text=True, timeout=300).stdout)
        out.append((label, n, res))
    return out


def report_cells(path):
    """The cells of a saved report's throughput table, keyed by (route,
    conns): req/s, p99, ÷ health, host CPU ms and statements, as text."""
    cells = {}
    with open(path) as f:
        for line in f:
            c = [x.strip() for x in line.strip().strip("|").split("|")]
            if not (line.startswith("| ") and len(c) >= 12 and c[1].isdigit()):
                continue
            # Reports before the host CPU column had 12 columns.
            cpu, stmts = (c[7], c[8]) if len(c) >= 13 else ("–", c[7])
            cells[(c[0], int(c[1]))] = {"rps": c[2], "p99": c[4], "health": c[6], "cpu": cpu, "stmts": stmts}
    return cells


def compare_lines(before_path, after_path):
    """A before → after table of every cell both reports have."""
    before, after = report_cells(before_path), report_cells(after_path)
    out = [f"## Before → after ({os.path.basename(before_path)} → {os.path.basename(after_path)})", "",
           "| route | conns | req/s | ÷ health | p99 ms | host CPU ms | stmts |",
           "|---|---:|---:|---:|---:|---:|---:|"]
    for key, a in after.items():
        b = before.get(key)
        if not b:
            continue
        arrow = lambda k: f"{b[k]} → {a[k]}"
        out.append(f"| {key[0]} | {key[1]} | {arrow('rps')} | {arrow('health')} | {arrow('p99')} | {arrow('cpu')} | {arrow('stmts')} |")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--connections", default="4,16,64")
    ap.add_argument("--only", default="")
    ap.add_argument("--compare", default="", help="an earlier report: end this one with a before → after table against it")
    ap.add_argument("--report", default="", help="with --compare: compare this saved report instead of running")
    args = ap.parse_args()
    if args.report:
        if not args.compare:
            sys.exit("--report needs --compare")
        print("\n".join(compare_lines(args.compare, args.report)))
        return
    conns = [int(c) for c in args.connections.split(",")]
    lines = []
    say = lambda s="": (print(s, flush=True), lines.append(s))

    env = dict(os.environ)
    env["SPIN_VARIABLE_JWT_SECRET"] = os.urandom(32).hex()
    env["SPIN_VARIABLE_JOBS_TOKEN"] = os.urandom(16).hex()
    env["SPIN_VARIABLE_METRICS_TOKEN"] = os.urandom(16).hex()
    sms = SmsGateway()
    env["SPIN_VARIABLE_SMS_GATEWAY_URL"] = f"http://127.0.0.1:{sms.port}"
    # The second admin sets up the review cells (a phone gets one code a minute).
    env["SPIN_VARIABLE_ADMIN_PHONES"] = f"{phone_of(0)},{phone_of(400_000)}"
    # A third admin sets up the preorder cell.
    env["SPIN_VARIABLE_ADMIN_PHONES"] += f",{phone_of(600_000)}"
    # And a fourth the ingest cells.
    env["SPIN_VARIABLE_ADMIN_PHONES"] += f",{phone_of(950_000)}"
    # And two more the backend cells (one per backend).
    env["SPIN_VARIABLE_ADMIN_PHONES"] += f",{phone_of(700_000)},{phone_of(800_000)}"
    env["SPIN_VARIABLE_PAYMENTS_WEBHOOK_SECRET"] = WEBHOOK_SECRET
    # The benchmark measures throughput, not the anti-abuse caps.
    env["SPIN_VARIABLE_MAX_PURCHASES_PER_BUSINESS_DAY"] = "1000000"
    env["SPIN_VARIABLE_MAX_POINTS_PER_DAY"] = "1000000000"
    env["SPIN_VARIABLE_COMPENSATION_CAP_PER_ORDER"] = "1000000000"
    tg = TelegramApi()
    env["SPIN_VARIABLE_TELEGRAM_API_URL"] = f"http://127.0.0.1:{tg.port}"
    env["SPIN_VARIABLE_TELEGRAM_BOT_TOKEN"] = "1:bench"
    env["SPIN_VARIABLE_TELEGRAM_CHAT_ID"] = "-100"
    # Reviews arrive far faster than the burst rule allows; measure publishing.
    env["SPIN_VARIABLE_REVIEW_BURST_PER_HOUR"] = "1000000"
    keys_tmp = tempfile.mkdtemp(prefix="krug-bench-keys-")
    saleor = SaleorKeys(keys_tmp)
    env["SPIN_VARIABLE_SALEOR_API_URL"] = f"http://127.0.0.1:{saleor.port}"
    env["SPIN_VARIABLE_SALEOR_BUSINESS_ID"] = SALEOR_BUSINESS

    say(f"# Krug benchmark — {time.strftime('%Y-%m-%d %H:%M:%S')}, {os.cpu_count()} cores, wrk {args.duration}s per cell")
    say()

    # Floor.
    fport = free_port()
    floor = Proc([FLOOR_BIN, f"127.0.0.1:{fport}"])
    wait_http(f"http://127.0.0.1:{fport}/")
    floor_res = {c: wrk(f"http://127.0.0.1:{fport}/", c, args.duration) for c in conns}
    floor.stop()

    # Host: cold start with an empty compile cache, then warm.
    state = tempfile.mkdtemp(prefix="krug-bench-")
    port = free_port()
    host, cold_ms = start_host(state, port, env)
    host.stop()
    port = free_port()
    host, warm_ms = start_host(state, port, env)
    base = f"http://127.0.0.1:{port}"

    scenarios = [
        ("GET /pos/ (static, no storage)", "/pos/", None),
        ("GET /api/v1/health (SQLite open + SELECT)", "/api/v1/health", None),
        (FLAGS_CELL, "/api/v1/flags", None),
    ]
    results = {}
    peak_rss = 0
    for name, path, script in scenarios:
        if args.only and not any(o in name for o in args.only.split(",")):
            continue
        results[name] = {}
        for c in conns:
            results[name][c] = wrk(base + path, c, args.duration, script)
            peak_rss = max(peak_rss, rss_kb(host.p.pid)[0])
    if not args.only or "app" in args.only.split(","):
        tmp = tempfile.mkdtemp(prefix="krug-bench-lua-")
        for name, only_c, path, script in app_scenarios(port, sms, conns, args.duration, tmp, results):
            for c in [only_c] if only_c else conns:
                results.setdefault(name, {})[c] = wrk(base + path, c, args.duration, script)
                peak_rss = max(peak_rss, rss_kb(host.p.pid)[0])
        shutil.rmtree(tmp, ignore_errors=True)
    delivered = outbox_delivery(port, env["SPIN_VARIABLE_JOBS_TOKEN"], tg) if "POST /api/v1/support/tickets (ticket + message + outbox)" in results else None
    if not args.only or "reviews" in args.only.split(","):
        tmp = tempfile.mkdtemp(prefix="krug-bench-lua-")
        for name, only_c, path, script in review_scenarios(port, sms, conns, args.duration, tmp, state):
            for c in [only_c] if only_c else conns:
                results.setdefault(name, {})[c] = wrk(base + path, c, args.duration, script)
                peak_rss = max(peak_rss, rss_kb(host.p.pid)[0])
        shutil.rmtree(tmp, ignore_errors=True)
    if not args.only or "referral" in args.only.split(","):
        tmp = tempfile.mkdtemp(prefix="krug-bench-lua-")
        for name, only_c, path, script in referral_scenarios(port, sms, conns, args.duration, tmp, state, saleor):
            for c in [only_c] if only_c else conns:
                results.setdefault(name, {})[c] = wrk(base + path, c, args.duration, script)
                peak_rss = max(peak_rss, rss_kb(host.p.pid)[0])
        shutil.rmtree(tmp, ignore_errors=True)
    if not args.only or "preorders" in args.only.split(","):
        tmp = tempfile.mkdtemp(prefix="krug-bench-lua-")
        for name, only_c, path, script in preorder_scenarios(port, sms, conns, args.duration, tmp):
            for c in [only_c] if only_c else conns:
                results.setdefault(name, {})[c] = wrk(base + path, c, args.duration, script)
                peak_rss = max(peak_rss, rss_kb(host.p.pid)[0])
        shutil.rmtree(tmp, ignore_errors=True)
    if not args.only or "events" in args.only.split(","):
        tmp = tempfile.mkdtemp(prefix="krug-bench-lua-")
        for name, only_c, path, script in event_scenarios(conns, args.duration, tmp, state, env["SPIN_VARIABLE_JWT_SECRET"]):
            for c in [only_c] if only_c else conns:
                results.setdefault(name, {})[c] = wrk(base + path, c, args.duration, script)
                peak_rss = max(peak_rss, rss_kb(host.p.pid)[0])
        shutil.rmtree(tmp, ignore_errors=True)
    if not args.only or "ingest" in args.only.split(","):
        tmp = tempfile.mkdtemp(prefix="krug-bench-lua-")
        for name, only_c, path, script in ingest_scenarios(port, sms, conns, args.duration, tmp, state):
            for c in [only_c] if only_c else conns:
                results.setdefault(name, {})[c] = wrk(base + path, c, args.duration, script)
                peak_rss = max(peak_rss, rss_kb(host.p.pid)[0])
        shutil.rmtree(tmp, ignore_errors=True)
    # Last: it fills the database with a year of purchases.
    if not args.only or "analytics" in args.only.split(","):
        tmp = tempfile.mkdtemp(prefix="krug-bench-lua-")
        for name, only_c, path, script in analytics_scenarios(port, conns, args.duration, tmp, state, env["SPIN_VARIABLE_JWT_SECRET"],
                                                              env["SPIN_VARIABLE_JOBS_TOKEN"], env["SPIN_VARIABLE_METRICS_TOKEN"]):
            for c in [only_c] if only_c else conns:
                results.setdefault(name, {})[c] = wrk(base + path, c, args.duration, script)
                peak_rss = max(peak_rss, rss_kb(host.p.pid)[0])
        shutil.rmtree(tmp, ignore_errors=True)
    _, hwm = rss_kb(host.p.pid)
    host.stop()
    first_tmp = tempfile.mkdtemp(prefix="krug-bench-schema-")
    first = first_statement_cells(os.path.join(state, "sqlite_db.db"), first_tmp)
    shutil.rmtree(first_tmp, ignore_errors=True)
    backends = backend_cells(env, conns, args.duration, sms) if not args.only or "postgres" in args.only.split(",") else None
    sms.stop()
    tg.stop()
    saleor.stop()
    shutil.rmtree(keys_tmp, ignore_errors=True)
    shutil.rmtree(state, ignore_errors=True)

    say("## Throughput and latency (req/s ÷ the native floor and ÷ the health route, same run, same concurrency)")
    say()
    say("Per request, from the host's stats: SQL statements, statements answered \"busy\", time inside SQLite, of which the fresh")
    say("connection's first statement (open + schema parse), and the rest (instantiation, guest code, waiting between retries).")
    say("Host CPU: the host process's user + system CPU time over the cell divided by the requests served (wall times")
    say("above include waiting for one of the 2 cores; this does not).")
    say()
    say("| route | conns | req/s | p50 ms | p99 ms | ÷ floor | ÷ health | host CPU ms | stmts | busy | SQL ms | first stmt ms | rest ms |")
    say("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    health = results.get("GET /api/v1/health (SQLite open + SELECT)", {})
    for c in conns:
        say(fmt_row("native hyper floor", c, floor_res[c], floor_res[c]))
    for name, by_c in results.items():
        for c, r in sorted(by_c.items()):
            say(fmt_row(name, c, r, floor_res[c], health.get(c)))
    say()
    triv = results.get("GET /pos/ (static, no storage)")
    if triv:
        c0 = conns[0]
        over = triv[c0]["p50"] - floor_res[c0]["p50"]
        say(f"Per-request instantiation + guest overhead (p50 static route − p50 floor, {c0} conns): {over:.2f} ms")
    if delivered:
        n, secs = delivered
        say(f"Support outbox delivery to a mock Bot API (the `support-deliver-telegram` job until empty): {n} messages in {secs:.1f} s = {n / secs if secs else 0:.0f} messages/s")
    flag_cell = results.get(FLAGS_CELL)
    if triv and flag_cell and health:
        # The flag read's own cost: per-request time of the flags route (one
        # key-value read, no SQLite) minus the static route's, as a share of
        # the health route's per-request time.
        for c in conns:
            read_ms = 1000 / flag_cell[c]["rps"] - 1000 / triv[c]["rps"]
            share = read_ms / (1000 / health[c]["rps"]) * 100
            say(f"Feature-flag read ({c} conns): {read_ms:.3f} ms per request = {share:.1f} % of the health route's per-request time")
    for note in ANALYTICS_NOTES:
        say(note)
    for till, c, json_rate, lat, csv_rate, csv_times, csv_bytes in INGEST_NOTES:
        till_rate = results[till][c]["rps"]
        p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
        say(f"Ingest, JSON batches of 1 000 rows from {c} clients: {json_rate:.0f} rows/s = {json_rate / till_rate:.2f}× the till's "
            f"{till_rate:.0f} purchases/s ({c} conns, same run); per batch p50 {p(0.5) * 1000:.0f} ms, p99 {p(0.99) * 1000:.0f} ms")
        say(f"Ingest, CSV uploads of 10 000 rows ({csv_bytes / 1024:.0f} KiB) one after another: {csv_rate:.0f} rows/s = "
            f"{csv_rate / till_rate:.2f}× the till; per upload {min(csv_times):.2f}–{max(csv_times):.2f} s")
    say()
    say("## First statement on a fresh connection (open + schema parse + one statement; native, 2 000 opens)")
    say()
    say("| database | schema objects | p50 µs | mean µs | ÷ the app's schema |")
    say("|---|---:|---:|---:|---:|")
    for label, n, res in first:
        say(f"| {label} | {n} | {res['p50_us']:.0f} | {res['mean_us']:.0f} | {res['p50_us'] / first[0][2]['p50_us']:.2f} |")
    say()
    say(f"Cold start (process start → first 200, empty compile cache): {cold_ms:.0f} ms; warm (cached): {warm_ms:.0f} ms")
    say(f"Host RSS under load: peak sampled {peak_rss / 1024:.1f} MiB, high-water {hwm / 1024:.1f} MiB")
    say()
    if backends:
        for line in backend_lines(backends):
            say(line)
        say()
    say("## Component sizes")
    say()
    say("| component | bytes |")
    say("|---|---:|")
    for f in sorted(os.listdir(WASM_DIR)):
        if f.endswith(".wasm") and f.startswith("krug_"):
            say(f"| {f} | {os.path.getsize(os.path.join(WASM_DIR, f))} |")

    os.makedirs(os.path.join(ROOT, "bench-results"), exist_ok=True)
    saved = os.path.join(ROOT, "bench-results", time.strftime("%Y%m%d-%H%M%S") + ".md")
    with open(saved, "w") as f:
        f.write("\n".join(lines) + "\n")
    if args.compare:
        table = compare_lines(args.compare, saved)
        print()
        print("\n".join(table))
        with open(saved, "a") as f:
            f.write("\n" + "\n".join(table) + "\n")


if __name__ == "__main__":
    main()
