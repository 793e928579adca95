"""Long-running reliability suites of issue 21, and the summary table of
`scripts/reliability`. Loopback only; every run is bounded in time.

    scripts/reliability.py load  [--step-seconds 20] [--peak-seconds 10]
    scripts/reliability.py soak  [--minutes 30] [--rate R] [--interval 60]
    scripts/reliability.py stall [--rate R] [--stall-at 30] [--stall-seconds 8] [--after 90]
    scripts/reliability.py fuzz  [--seconds 300]
    scripts/reliability.py summary DIR [--status NAME=EXIT ...]

load and soak start the local host (target/native/krug-host, built
beforehand, with the WASM components) on a free 127.0.0.1 port with a fresh
state directory, seed one partner business with an API key, 400 members (20 of
them with points to redeem) and 20 auto campaigns through the API, then send the request mix of a
busy Saturday:

    members opening the wallet   GET  /api/v1/wallet                40 %
    members showing their QR     GET  /api/v1/wallet/qr             10 %
    tills earning                POST /api/v1/pos/purchases         20 %
    tills redeeming              POST /api/v1/pos/redemptions        8 %
    checkout quotes              POST /api/v1/checkout/quote        12 %
    payment webhooks             POST /webhooks/payments/generic    10 %

The peak is the mix's closed-loop throughput under wrk (8 connections, a
short run). Load and soak are open-loop (wrk2 is not available and wrk
cannot pace): requests are scheduled at a fixed rate by an asyncio driver
over keep-alive connections, and each latency runs from the request's
scheduled time, so a slow server is not hidden by a driver that waits for it
(no coordinated omission). An error is any status other than the one the
request expects, a timeout or a broken connection.

- load: the mix at rising rates (a quarter of the peak upwards) until a step
  has errors or p99 > 250 ms; the highest step held is the result.
- soak: the mix at half of the peak (or --rate; or the rate the load step
  held, when that is lower) for N minutes after a short warm-up: p50/p99 per interval, host RSS start → half time → end
  (flat: the second half grows by no more than 10 % or 16 MiB), database file growth per 1 000 writes (purchases,
  redemptions, webhooks), errors.
- stall: the mix at the soak's rate while the host is stopped (SIGSTOP)
  for --stall-seconds and then resumed, as a paused VM or a noisy neighbour
  would do it. Requests sent into the stall may time out or be shed (503
  BUSY); the run fails on any error before the stall, any other error class
  (a 500), or when the host has not recovered (p99 <= 250 ms and no errors
  in every 5-s interval to the end) within 60 s of resuming.
- fuzz: the parser fuzz targets (functions/core/tests/parsers.rs and
  fuzz.rs) with PROPTEST_CASES chosen from a calibration run so the whole
  takes about --seconds.
- summary: the markdown table from the JSON files in DIR, also saved under
  bench-results/; exits non-zero when any suite failed or is missing
  figures it should have written.

With KRUG_RELIABILITY_OUT naming a directory, load, soak, stall and fuzz
write load.json, soak.json, stall.json and fuzz.json there.
"""

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import signal
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (the host binary, SMS gateway, API helpers, wrk)

ROOT = bench.ROOT
P99_LIMIT_MS = 250.0
TIMEOUT_S = 10.0


# ---------------------------------------------------------------- results

def out_dir():
    d = os.environ.get("KRUG_RELIABILITY_OUT", "")
    if d:
        os.makedirs(d, exist_ok=True)
    return d or None


def write_result(name, data):
    d = out_dir()
    if d:
        with open(os.path.join(d, name), "w") as f:
            json.dump(data, f, indent=2)
            f.write("\n")


def pct(values, q):
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def ms(v):
    return None if v is None else round(v * 1000, 2)


# ---------------------------------------------------------------- the app

class App:
    """The host on a fresh state directory, seeded through the API: one
    gastronomy business with an API key, `members` members (20 of them with
    points to redeem), 20 auto campaigns and one code for quotes."""

    def __init__(self, members=400):
        self.population = members
        self.env = dict(os.environ)
        self.env["SPIN_VARIABLE_JWT_SECRET"] = os.urandom(32).hex()
        self.env["SPIN_VARIABLE_JOBS_TOKEN"] = os.urandom(16).hex()
        self.env["SPIN_VARIABLE_PAYMENTS_WEBHOOK_SECRET"] = bench.WEBHOOK_SECRET
        self.env["SPIN_VARIABLE_ADMIN_PHONES"] = bench.phone_of(0)
        # Throughput and stability are measured, not the anti-abuse caps.
        # (Each at the most its setting allows.)
        self.env["SPIN_VARIABLE_MAX_PURCHASES_PER_BUSINESS_DAY"] = "1000000"
        self.env["SPIN_VARIABLE_MAX_POINTS_PER_DAY"] = "1000000000000"
        self.env["SPIN_VARIABLE_COMPENSATION_CAP_PER_ORDER"] = "1000000000"
        self.sms = bench.SmsGateway()
        self.env["SPIN_VARIABLE_SMS_GATEWAY_URL"] = f"http://127.0.0.1:{self.sms.port}"
        self.state = tempfile.mkdtemp(prefix="krug-reliability-")
        self.port = bench.free_port()
        self.db_path = os.path.join(self.state, "sqlite_db.db")
        self.memory_path = os.path.join(self.state, "memory.json")
        self.host = None

    def start(self):
        if not os.path.exists(bench.HOST_BIN):
            sys.exit("target/native/krug-host is not built")
        # Not bench.start_host: that one makes the host append a stats line
        # per request, which would count in the soak's disk and RSS figures.
        self.host = bench.Proc([bench.HOST_BIN, "--manifest", os.path.join(ROOT, "spin.toml"), "--listen",
                                f"127.0.0.1:{self.port}", "--state-dir", self.state, "--no-cron",
                                "--memory-file", self.memory_path], env=self.env)
        token = self.env["SPIN_VARIABLE_JOBS_TOKEN"]
        # A fresh state directory compiles every component first: on a busy
        # machine that takes more than bench's minute.
        if not bench.wait_http(f"http://127.0.0.1:{self.port}/internal/migrate", timeout=600, method="POST",
                               headers={"authorization": f"Bearer {token}"}):
            self.stop()
            sys.exit("host did not start")
        bench.wait_http(f"http://127.0.0.1:{self.port}/api/v1/health")
        self.seed()

    def seed(self):
        port = self.port
        self.admin, biz, self.api_key, self.members, self.cards = bench.bench_business(port, self.sms, 0, "Saturday Cafe")
        self.business_id = biz["id"]
        # The 20 that redeem (they get points and fresh QR tokens); the rest
        # of the crowd opens the wallet, earns and pays, a few times each over
        # a run, as members do (20 members alone would each make hundreds of
        # purchases, and every sale reads its member's history).
        self.redeemers = len(self.members)
        with ThreadPoolExecutor(8) as ex:
            extra = list(ex.map(self.member, range(100, 100 + max(0, self.population - self.redeemers))))
        self.members += [t for t, _ in extra]
        # Each member's phone number (bench.phone_of), to log in again.
        self.phones = list(range(1, 1 + self.redeemers)) + list(range(100, 100 + len(extra)))
        self.cards += [c for _, c in extra]
        self.member_ids = [bench.call(port, "GET", "/api/v1/me", token=t)[1]["id"] for t in self.members]
        for i, card in enumerate(self.cards[:self.redeemers]):
            status, body = bench.call(port, "POST", "/api/v1/pos/compensations",
                                      {"member": {"card_number": card}, "points": 900_000_000, "reason": "seed",
                                       "order_ref": f"seed-{i}"},
                                      token=self.api_key, headers={"idempotency-key": f"seed-{i}"})
            assert status == 201, body
        for i in range(20):
            body = {"name": f"Суббота {i}", "kind": "percent", "value": 1 + i % 5, "auto": True, "stackable": True,
                    "businesses": [self.business_id]}
            if i % 2:
                body["conditions"] = {"skus": [f"SKU-{i}"]}
            status, out = bench.call(port, "POST", "/api/v1/admin/promos", body, token=self.admin)
            assert status == 201, out
        status, out = bench.call(port, "POST", "/api/v1/admin/promos",
                                 {"code": "SATURDAY", "name": "Суббота", "kind": "fixed", "value": 500, "stackable": True,
                                  "businesses": [self.business_id]}, token=self.admin)
        assert status == 201, out
        items = [{"sku": f"SKU-{i}", "category": "gastronomy", "quantity": 1 + i % 3, "unit_price": 15_000 + 250 * i}
                 for i in range(6)]
        self.quote_body = json.dumps({"business_id": self.business_id, "channel": "app", "items": items,
                                      "promo_codes": ["saturday"]})
        self.refresh_qr()

    def member(self, i):
        """A new member (phone `i`): access token and card number."""
        token = bench.login(self.port, self.sms, i)
        return token, bench.call(self.port, "GET", "/api/v1/wallet", token=token)[1]["card_number"]

    def renew_logins(self):
        """Access tokens live 15 minutes: renew every member's session with
        its refresh token before they expire, as the apps do."""
        def one(k):
            self.members[k] = bench.renew(self.port, self.phones[k])
        with ThreadPoolExecutor(4) as ex:
            list(ex.map(one, range(len(self.members))))

    def refresh_qr(self):
        """QR tokens are accepted for 60 s: a fresh one per redeeming member."""
        self.qr = [bench.call(self.port, "GET", "/api/v1/wallet/qr", token=t)[1]["token"]
                   for t in self.members[:self.redeemers]]

    def rss_kb(self):
        return bench.rss_kb(self.host.p.pid)[0]

    def memory(self):
        """Where the host's memory is (it rewrites the file every second):
        instance-pool slots in use and idle warm, the bytes the idle ones
        keep resident, and the C heap's bytes in use and free."""
        try:
            with open(self.memory_path) as f:
                m = json.load(f)
        except (OSError, ValueError):
            return None
        pool, heap = m.get("pool") or {}, m.get("heap") or {}
        idle = sum(pool.get(k) or 0 for k in ("unused_memory_bytes_resident", "unused_table_bytes_resident",
                                             "unused_stack_bytes_resident"))
        return {"in_use": pool.get("memories"), "warm": pool.get("unused_warm_memories"), "idle_kb": idle // 1024,
                "heap_used_kb": (heap.get("in_use") or 0) // 1024, "heap_free_kb": (heap.get("free") or 0) // 1024,
                "heap_mmapped_kb": (heap.get("mmapped") or 0) // 1024}

    def db_bytes(self):
        """The database's size with its write-ahead log folded in."""
        try:
            db = sqlite3.connect(self.db_path, timeout=30)
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            db.close()
        except sqlite3.Error:
            pass
        total = 0
        for suffix in ("", "-wal"):
            p = self.db_path + suffix
            if os.path.exists(p):
                total += os.path.getsize(p)
        return total

    def stop(self):
        if self.host:
            self.host.stop()
        self.sms.stop()
        shutil.rmtree(self.state, ignore_errors=True)


def signature(body, t):
    return "t=%d,v1=%s" % (t, hmac.new(bench.WEBHOOK_SECRET.encode(), f"{t}.{body}".encode(), hashlib.sha256).hexdigest())


# ---------------------------------------------------------------- the mix

# (name, weight in percent, expected status)
MIX = [
    ("wallet", 40, 200),
    ("qr", 10, 200),
    ("earn", 20, 201),
    ("redeem", 8, 201),
    ("quote", 12, 200),
    ("webhook", 10, 200),
]
WRITES = {"earn", "redeem", "webhook"}


def mix_table(seed=21):
    """A shuffled list of 100 kind indices in the mix's proportions."""
    table = [i for i, (_, w, _) in enumerate(MIX) for _ in range(w)]
    random.Random(seed).shuffle(table)
    return table


def http_request(method, path, headers, body=b""):
    lines = [f"{method} {path} HTTP/1.1", "host: 127.0.0.1"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if method != "GET":
        lines.append(f"content-length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def build(app, kind, i, tag):
    """The bytes of request `i` of `kind`."""
    m = (i * 7919) % len(app.members)
    if kind == "wallet":
        return http_request("GET", "/api/v1/wallet", {"authorization": f"Bearer {app.members[m]}"})
    if kind == "qr":
        return http_request("GET", "/api/v1/wallet/qr", {"authorization": f"Bearer {app.members[m]}"})
    json_headers = {"content-type": "application/json"}
    if kind == "earn":
        body = json.dumps({"member": {"card_number": app.cards[m]}, "amount": 150_000 + i % 997, "category": "gastronomy"})
        return http_request("POST", "/api/v1/pos/purchases", {**json_headers, "authorization": f"Bearer {app.api_key}",
                                                              "idempotency-key": f"{tag}-e-{i}"}, body.encode())
    if kind == "redeem":
        body = json.dumps({"member": {"qr_token": app.qr[i % len(app.qr)]}, "points": 100, "order_ref": f"{tag}-r-{i}"})
        return http_request("POST", "/api/v1/pos/redemptions", {**json_headers, "authorization": f"Bearer {app.api_key}",
                                                                "idempotency-key": f"{tag}-r-{i}"}, body.encode())
    if kind == "quote":
        return http_request("POST", "/api/v1/checkout/quote", {**json_headers, "authorization": f"Bearer {app.members[m]}"},
                            app.quote_body.encode())
    t = int(time.time())
    body = json.dumps({"id": f"evt_{tag}_{i}", "type": "payment.succeeded", "created": t, "data": {
        "payment_id": f"pay_{tag}_{i}", "business_id": app.business_id, "amount": 10_000 + i % 5000,
        "currency": "RUB", "member_id": app.member_ids[m]}}, separators=(",", ":"))
    return http_request("POST", "/webhooks/payments/generic", {**json_headers, "krug-signature": signature(body, t)},
                        body.encode())


# ---------------------------------------------------------------- peak (wrk)

def peak_script(app, directory, seconds, threads):
    """A wrk script sending the mix; each thread its own idempotency keys
    and webhook events (signed now, valid for 300 s)."""
    per = max(2000, seconds * 600)
    t = int(time.time())
    hooks = []
    for k in range(threads * per):
        body = json.dumps({"id": f"evt_peak_{k}", "type": "payment.succeeded", "created": t, "data": {
            "payment_id": f"pay_peak_{k}", "business_id": app.business_id, "amount": 10_000 + k % 5000,
            "currency": "RUB", "member_id": app.member_ids[k % len(app.member_ids)]}}, separators=(",", ":"))
        hooks.append("{[=[" + body + "]=],\"" + signature(body, t) + "\"}")
    q = lambda xs: ",".join(f'"{x}"' for x in xs)
    kinds = ",".join(str(k + 1) for k in mix_table())
    return bench.lua_script(directory, "peak.lua", bench.LUA_THREADS + f"""
local members = {{{q(app.members)}}}
local cards = {{{q(app.cards)}}}
local qrs = {{{q(app.qr)}}}
local hooks = {{{",".join(hooks)}}}
local kinds = {{{kinds}}}
local quote = [=[{app.quote_body}]=]
local key = "Bearer {app.api_key}"
local per = {per}
local n = 0
local h = 0
request = function()
  n = n + 1
  local k = kinds[((n + tid * 37) % #kinds) + 1]
  local m = ((n + tid) % #members) + 1
  local json = {{["content-type"] = "application/json"}}
  if k == 1 then
    return wrk.format("GET", "/api/v1/wallet", {{["authorization"] = "Bearer " .. members[m]}})
  elseif k == 2 then
    return wrk.format("GET", "/api/v1/wallet/qr", {{["authorization"] = "Bearer " .. members[m]}})
  elseif k == 3 then
    local body = '{{"member":{{"card_number":"' .. cards[m] .. '"}},"amount":150000,"category":"gastronomy"}}'
    return wrk.format("POST", "/api/v1/pos/purchases", {{["content-type"] = "application/json", ["authorization"] = key,
      ["idempotency-key"] = "peak-e-" .. tid .. "-" .. n}}, body)
  elseif k == 4 then
    local body = '{{"member":{{"qr_token":"' .. qrs[((n + tid) % #qrs) + 1] .. '"}},"points":100,"order_ref":"peak-' .. tid .. '-' .. n .. '"}}'
    return wrk.format("POST", "/api/v1/pos/redemptions", {{["content-type"] = "application/json", ["authorization"] = key,
      ["idempotency-key"] = "peak-r-" .. tid .. "-" .. n}}, body)
  elseif k == 5 then
    return wrk.format("POST", "/api/v1/checkout/quote", {{["content-type"] = "application/json",
      ["authorization"] = "Bearer " .. members[m]}}, quote)
  else
    h = h + 1
    local it = hooks[tid * per + ((h - 1) % per) + 1]
    return wrk.format("POST", "/webhooks/payments/generic", {{["content-type"] = "application/json",
      ["krug-signature"] = it[2]}}, it[1])
  end
end
""")


def measure_peak(app, seconds, connections=8, threads=2):
    """The mix's closed-loop throughput: as fast as wrk can send it."""
    if not shutil.which("wrk"):
        sys.exit("wrk is needed for the peak (Debian: apt-get install wrk)")
    app.refresh_qr()
    tmp = tempfile.mkdtemp(prefix="krug-reliability-lua-")
    try:
        script = peak_script(app, tmp, seconds, threads)
        r = bench.wrk(f"http://127.0.0.1:{app.port}/", connections, seconds, script, threads=threads)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"peak (wrk, {connections} connections, {seconds} s, closed loop): {r['rps']:.0f} req/s, "
          f"p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms, non-2xx {r['non2xx']} {r['errors']}", flush=True)
    return r


# ---------------------------------------------------------------- open-loop driver

class Conn:
    """One keep-alive connection; `used` once it carried a request."""

    def __init__(self, reader, writer):
        self.reader, self.writer, self.used = reader, writer, False


class Pool:
    """Keep-alive connections to the host, opened as needed up to `size`."""

    def __init__(self, port, size):
        self.port, self.size = port, size
        self.idle = asyncio.Queue()
        self.opened = 0

    async def get(self):
        if self.idle.empty() and self.opened < self.size:
            self.opened += 1
            try:
                return Conn(*await asyncio.open_connection("127.0.0.1", self.port))
            except OSError:
                self.opened -= 1
                raise
        return await self.idle.get()

    def put(self, conn):
        conn.used = True
        self.idle.put_nowait(conn)

    def drop(self, conn):
        self.opened -= 1
        try:
            conn.writer.close()
        except Exception:
            pass

    def close(self):
        while not self.idle.empty():
            self.drop(self.idle.get_nowait())


async def read_response(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip().lower()
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding") == "chunked":
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            parts.append(chunk[:-2])
        body = b"".join(parts)
    else:
        body = b""
    return status, body, headers.get("connection") == "close"


class Stats:
    """Latencies (from the scheduled time) and errors, per interval."""

    def __init__(self, interval):
        self.interval = interval
        self.lat = {}
        self.errors = {}
        self.by_kind = {}
        self.samples = []
        self.writes = 0
        self.lag = []
        # error class ("timeout", "connection" or the status) → count
        self.error_classes = {}

    def record(self, at, kind, latency, ok, what):
        b = int(at // self.interval)
        self.lat.setdefault(b, []).append(latency)
        k = self.by_kind.setdefault(kind, [0, 0])
        k[0] += 1
        if ok:
            if kind in WRITES:
                self.writes += 1
        else:
            k[1] += 1
            self.errors[b] = self.errors.get(b, 0) + 1
            cls = error_class(what)
            self.error_classes[cls] = self.error_classes.get(cls, 0) + 1
            if len(self.samples) < 10:
                self.samples.append(f"{kind}: {what}")

    def all_latencies(self):
        return [x for v in self.lat.values() for x in v]

    def error_count(self):
        return sum(self.errors.values())


def error_class(what):
    """"503" for a status answer, "timeout" or "connection" otherwise."""
    head = what.split(" ", 1)[0]
    if head.isdigit():
        return head
    return "timeout" if what.startswith("no answer") else "connection"


async def fire(pool, kind, expect, req, start, intended, stats):
    loop = asyncio.get_running_loop()
    what = ""
    ok = False
    for attempt in range(2):
        try:
            conn = await pool.get()
        except OSError as e:
            what = f"connect: {e}"
            break
        reused = conn.used
        try:
            conn.writer.write(req)
            status, body, close = await asyncio.wait_for(read_response(conn.reader), TIMEOUT_S)
        except asyncio.IncompleteReadError as e:
            pool.drop(conn)
            # A keep-alive connection the server closed before answering:
            # sent again once on a new one (every write carries its
            # idempotency key or event id, so a resend is harmless).
            if not e.partial and reused and attempt == 0:
                continue
            what = "connection closed mid-response"
            break
        except asyncio.TimeoutError:
            pool.drop(conn)
            what = f"no answer in {TIMEOUT_S:.0f} s"
            break
        except OSError as e:
            pool.drop(conn)
            if attempt == 0 and reused:
                continue
            what = f"{type(e).__name__}: {e}"
            break
        if close:
            pool.drop(conn)
        else:
            pool.put(conn)
        ok = status == expect
        if not ok:
            what = f"{status} {body[:200].decode('utf-8', 'replace')}"
        break
    stats.record(intended - start, kind, loop.time() - intended, ok, what)


async def open_loop(app, rate, seconds, stats, tag, warmup=0.0, on_tick=None, pool_size=256):
    """Sends the mix at `rate` req/s for `warmup` + `seconds` seconds; only
    the requests scheduled after the warm-up are recorded. `on_tick` runs
    about every second (QR refresh, RSS samples)."""
    loop = asyncio.get_running_loop()
    pool = Pool(app.port, pool_size)
    table = mix_table()
    start = loop.time() + 0.05
    measured = start + warmup
    n = int(rate * (warmup + seconds))
    tasks = set()
    scratch = Stats(1e9)
    i = 0
    next_tick = start + 1
    while i < n:
        now = loop.time()
        while i < n and start + i / rate <= now:
            at = start + i / rate
            kind, _, expect = MIX[table[i % len(table)]]
            target = stats if at >= measured else scratch
            if at >= measured:
                stats.lag.append(now - at)
            task = asyncio.ensure_future(fire(pool, kind, expect, build(app, kind, i, tag), measured, at, target))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            i += 1
        if now >= next_tick:
            next_tick = now + 1
            if on_tick:
                # In the background: the schedule must not wait for it.
                tick = asyncio.ensure_future(on_tick())
                tasks.add(tick)
                tick.add_done_callback(tasks.discard)
        if i < n:
            await asyncio.sleep(max(0.0, min(start + i / rate, next_tick) - loop.time()))
    if tasks:
        await asyncio.wait(tasks, timeout=TIMEOUT_S + 5)
    pool.close()
    return scratch


def qr_refresher(app, every=20.0, logins_every=600.0):
    """An on_tick that renews the members' QR tokens every `every` s and
    their sessions every `logins_every` s (access tokens live 15 minutes), off
    the measured connections (threads, so the driver is not blocked)."""
    last = [time.monotonic()]
    renewed = [time.monotonic(), None]

    async def tick():
        if time.monotonic() - renewed[0] >= logins_every and (renewed[1] is None or renewed[1].done()):
            renewed[0] = time.monotonic()
            renewed[1] = asyncio.get_running_loop().create_task(asyncio.to_thread(app.renew_logins))
        if time.monotonic() - last[0] >= every:
            last[0] = time.monotonic()
            await asyncio.to_thread(app.refresh_qr)
            last[0] = time.monotonic()
    return tick


# ---------------------------------------------------------------- load

def load_step(app, rate, seconds, tag):
    """One open-loop step at `rate`: its figures."""
    stats = Stats(1e9)
    app.refresh_qr()
    asyncio.run(open_loop(app, rate, seconds, stats, tag, warmup=2.0, on_tick=qr_refresher(app)))
    lat = stats.all_latencies()
    return {"rate_rps": rate, "sent": len(lat), "p50_ms": ms(pct(lat, 0.5)), "p99_ms": ms(pct(lat, 0.99)),
            "max_ms": ms(max(lat) if lat else None), "errors": stats.error_count(),
            "driver_lag_p99_ms": ms(pct(stats.lag, 0.99)), "error_samples": stats.samples}


def run_load(args):
    app = App()
    try:
        app.start()
        peak = measure_peak(app, args.peak_seconds)
        fractions = [0.1, 0.25, 0.4, 0.55, 0.7, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5]
        steps = []
        held = None
        print(f"open loop, {args.step_seconds} s per step (2 s warm-up), stop at errors or p99 > {P99_LIMIT_MS:.0f} ms "
              "(a failing step is tried once more: the machine is shared)", flush=True)
        print("| rate req/s | sent | p50 ms | p99 ms | max ms | errors | driver lag p99 ms |")
        print("|---:|---:|---:|---:|---:|---:|---:|", flush=True)
        for n, f in enumerate(fractions):
            rate = max(10, round(peak["rps"] * f))
            for attempt in range(2):
                step = load_step(app, rate, args.step_seconds, f"load{n}-{attempt}")
                step["attempt"] = attempt + 1
                steps.append(step)
                print(f"| {rate} | {step['sent']} | {step['p50_ms']} | {step['p99_ms']} | {step['max_ms']} | {step['errors']} | "
                      f"{step['driver_lag_p99_ms']} |", flush=True)
                for e in step["error_samples"][:3]:
                    print(f"    error: {e}")
                failed = step["errors"] or step["p99_ms"] is None or step["p99_ms"] > P99_LIMIT_MS
                if not failed:
                    break
            if failed:
                break
            held = step
        result = {"held_rps": held["rate_rps"] if held else 0, "p50_ms": held["p50_ms"] if held else None,
                  "p99_ms": held["p99_ms"] if held else None, "peak_rps": round(peak["rps"]),
                  "peak_p99_ms": round(peak["p99"], 2), "peak_non2xx": peak["non2xx"], "step_seconds": args.step_seconds,
                  "steps": steps}
        if held:
            print(f"held: {held['rate_rps']} req/s at p50 {held['p50_ms']} ms, p99 {held['p99_ms']} ms "
                  f"(peak closed-loop {peak['rps']:.0f} req/s)")
        else:
            print("held: nothing (the first step failed)")
        write_result("load.json", result)
        return 0 if held else 1
    finally:
        app.stop()


# ---------------------------------------------------------------- soak

def memory_text(mem):
    """App.memory's figures in words."""
    if not mem:
        return "?"
    return (f"pool {mem['warm']} warm + {mem['in_use']} in use slots, {mem['idle_kb'] / 1024:.1f} MiB idle; heap "
            f"{mem['heap_used_kb'] / 1024:.1f} MiB used, {mem['heap_free_kb'] / 1024:.1f} MiB free, "
            f"{mem['heap_mmapped_kb'] / 1024:.1f} MiB mapped")


def prior_load():
    """This run's load-step figures (load.json in the output directory), or {}."""
    prior = os.path.join(out_dir() or "", "load.json")
    if not (out_dir() and os.path.exists(prior)):
        return {}
    with open(prior) as f:
        return json.load(f)


def soak_rate(app, args):
    """The soak's rate and where it came from: --rate, else half the peak of
    this run's load step (or the rate it held, when lower), else half a
    peak measured now."""
    rate = args.rate
    source = "--rate"
    load = {} if rate else prior_load()
    if load:
        rate = load.get("peak_rps", 0) / 2
        source = "half the peak of this run's load step"
        # Above the rate the open loop held, a soak measures overload.
        if 0 < load.get("held_rps", 0) < rate:
            rate = load["held_rps"]
            source = "the rate the load step held, below half its peak"
    if not rate:
        rate = measure_peak(app, 10)["rps"] / 2
        source = "half the peak measured now"
    return max(10, round(rate)), source


def run_soak(args):
    app = App()
    try:
        app.start()
        rate, source = soak_rate(app, args)
        seconds = args.minutes * 60
        interval = args.interval
        print(f"soak: {args.minutes} min at {rate} req/s ({source}), open loop, p50/p99 per {interval} s, "
              f"after a {args.warmup} s warm-up", flush=True)
        stats = Stats(interval)
        rss = []
        memory = []
        refresh = qr_refresher(app)
        t0 = [None]

        shown = set()

        def memory_at(when):
            seen = [p for t, p in memory if t <= when and p]
            return seen[-1] if seen else None

        async def tick():
            now = time.monotonic()
            rss.append((now, app.rss_kb()))
            memory.append((now, app.memory()))
            # Progress: each interval once its last requests had time to end.
            if t0[0]:
                for b in sorted(stats.lat):
                    if b not in shown and now > t0[0][2] + (b + 1) * interval + TIMEOUT_S + 1:
                        shown.add(b)
                        lat = stats.lat[b]
                        at_end = [kb for t, kb in rss if t <= t0[0][2] + (b + 1) * interval]
                        mem = memory_at(t0[0][2] + (b + 1) * interval)
                        print(f"  {(b + 1) * interval / 60:.1f} min: {len(lat)} sent, p50 {ms(pct(lat, 0.5))} ms, "
                              f"p99 {ms(pct(lat, 0.99))} ms, {stats.errors.get(b, 0)} errors, "
                              f"host RSS {(at_end or [0])[-1] / 1024:.1f} MiB, {memory_text(mem)}", flush=True)
            await refresh()

        async def soak():
            # Warm-up first, then the figures that are the start.
            await open_loop(app, rate, args.warmup, Stats(1e9), "warm", on_tick=refresh)
            t0[0] = (app.rss_kb(), await asyncio.to_thread(app.db_bytes), time.monotonic())
            await open_loop(app, rate, seconds, stats, "soak", on_tick=tick)

        asyncio.run(soak())
        rss_start, db_start, _ = t0[0]
        rss_end = app.rss_kb()
        db_end = app.db_bytes()
        intervals = []
        print("| minute | sent | p50 ms | p99 ms | errors | host RSS MiB | pool slots warm / in use | pool idle MiB "
              "| heap used / free MiB |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        start_clock = t0[0][2]
        for b in sorted(stats.lat):
            lat = stats.lat[b]
            at_end = start_clock + (b + 1) * interval
            sample = [kb for t, kb in rss if t <= at_end]
            row = {"interval": b + 1, "sent": len(lat), "p50_ms": ms(pct(lat, 0.5)), "p99_ms": ms(pct(lat, 0.99)),
                   "errors": stats.errors.get(b, 0), "rss_kb": sample[-1] if sample else None,
                   "memory": memory_at(at_end)}
            intervals.append(row)
            mem = row["memory"] or {}
            print(f"| {b * interval / 60 + interval / 60:.1f} | {row['sent']} | {row['p50_ms']} | {row['p99_ms']} | "
                  f"{row['errors']} | {(row['rss_kb'] or 0) / 1024:.1f} | {mem.get('warm', '?')} / "
                  f"{mem.get('in_use', '?')} | {mem.get('idle_kb', 0) / 1024:.1f} | "
                  f"{mem.get('heap_used_kb', 0) / 1024:.1f} / {mem.get('heap_free_kb', 0) / 1024:.1f} |")
        errors = stats.error_count()
        writes = stats.writes
        per_1000 = round((db_end - db_start) / 1024 / writes * 1000, 2) if writes else None
        result = {"minutes": args.minutes, "rate_rps": rate, "rss_start_kb": rss_start, "rss_end_kb": rss_end,
                  "p99_first_ms": intervals[0]["p99_ms"] if intervals else None,
                  "p99_last_ms": intervals[-1]["p99_ms"] if intervals else None,
                  "errors": errors, "db_kb_per_1000_writes": per_1000, "writes": writes,
                  "db_start_kb": db_start // 1024, "db_end_kb": db_end // 1024,
                  "requests": sum(r["sent"] for r in intervals), "intervals": intervals,
                  "by_kind": {k: {"sent": v[0], "errors": v[1]} for k, v in stats.by_kind.items()},
                  "error_samples": stats.samples}
        print(f"host RSS {rss_start / 1024:.1f} → {rss_end / 1024:.1f} MiB; database {db_start / 1024:.0f} → "
              f"{db_end / 1024:.0f} KiB over {writes} writes = {per_1000} KiB per 1 000 writes; errors {errors}")
        for s in stats.samples:
            print(f"    error: {s}")
        # Flat means no steady growth: the allocator's high-water marks and
        # the caches fill in the first minutes, while a leak keeps growing
        # through the second half too.
        mid = [kb for t, kb in rss if t <= start_clock + seconds / 2]
        rss_mid = mid[-1] if mid else rss_start
        result["rss_mid_kb"] = rss_mid
        result["memory_start"] = next((p for _, p in memory if p), None)
        result["memory_mid"] = memory_at(start_clock + seconds / 2)
        result["memory_end"] = app.memory()
        print(f"memory at start: {memory_text(result['memory_start'])}\nat half time: "
              f"{memory_text(result['memory_mid'])}\nat the end: {memory_text(result['memory_end'])}")
        write_result("soak.json", result)
        print(f"host RSS at half time {rss_mid / 1024:.1f} MiB; second half {(rss_end - rss_mid) / 1024:+.1f} MiB")
        grew = rss_end > rss_mid * 1.1 and rss_end - rss_mid > 16 * 1024
        slow = result["p99_last_ms"] is None or result["p99_last_ms"] > P99_LIMIT_MS
        if grew:
            print("host RSS grew through the second half of the soak (more than 10 % and 16 MiB)")
        return 1 if errors or grew or slow else 0
    finally:
        app.stop()


# ---------------------------------------------------------------- stall

STALL_BUCKET_S = 5
RECOVERY_LIMIT_S = 60


def stall_rate(app, args):
    """The stall's rate: --rate, else the soak's rate capped at half the rate
    this run's load step held. Working off a backlog takes the headroom
    between capacity and load: at the soak's half of the closed-loop peak
    the host may have only a tenth left (2026-12-06: 206 req/s against 227
    held took 87 s), which measures queueing, not recovery."""
    rate, source = soak_rate(app, args)
    held = 0 if args.rate else prior_load().get("held_rps", 0)
    if 0 < held / 2 < rate:
        rate, source = max(10, round(held / 2)), "half the rate this run's load step held"
    return rate, source


def run_stall(args):
    """The host stopped for a few seconds under the soak's load, then
    resumed: it must work off the backlog (answering or shedding it) and be
    back to normal within RECOVERY_LIMIT_S."""
    app = App()
    try:
        app.start()
        rate, source = stall_rate(app, args)
        seconds = args.stall_at + args.stall_seconds + args.after
        print(f"stall: {rate} req/s ({source}), open loop for {seconds:.0f} s after a {args.warmup} s warm-up; "
              f"the host is stopped at {args.stall_at:.0f} s for {args.stall_seconds:.0f} s", flush=True)
        stats = Stats(STALL_BUCKET_S)
        refresh = qr_refresher(app)
        t0 = [None]
        stalled = [False]
        rss = {}

        async def tick():
            now = time.monotonic()
            if t0[0] is not None and not stalled[0] and now - t0[0] >= args.stall_at:
                stalled[0] = True
                rss["before_kb"] = app.rss_kb()
                print(f"  stopping the host for {args.stall_seconds:.0f} s", flush=True)
                os.kill(app.host.p.pid, signal.SIGSTOP)
                asyncio.get_running_loop().call_later(args.stall_seconds, os.kill, app.host.p.pid, signal.SIGCONT)
            if stalled[0]:
                rss["peak_kb"] = max(rss.get("peak_kb", 0), app.rss_kb())
            await refresh()

        async def drive():
            await open_loop(app, rate, args.warmup, Stats(1e9), "warm", on_tick=refresh)
            t0[0] = time.monotonic()
            await open_loop(app, rate, seconds, stats, "stall", on_tick=tick)

        asyncio.run(drive())
        resumed = args.stall_at + args.stall_seconds
        buckets = []
        for b in sorted(stats.lat):
            lat = stats.lat[b]
            buckets.append({"from_s": b * STALL_BUCKET_S, "sent": len(lat), "p50_ms": ms(pct(lat, 0.5)),
                            "p99_ms": ms(pct(lat, 0.99)), "errors": stats.errors.get(b, 0)})
        # Requests sent before the stall had answers long before it, except
        # those in flight at the moment it began.
        before = sum(x["errors"] for x in buckets if x["from_s"] + STALL_BUCKET_S <= args.stall_at - 1)
        bad = [x for x in buckets if x["errors"] or x["p99_ms"] is None or x["p99_ms"] > P99_LIMIT_MS]
        last_bad = max((x["from_s"] + STALL_BUCKET_S for x in bad), default=0)
        recovered = not buckets or last_bad < buckets[-1]["from_s"] + STALL_BUCKET_S
        recovery_s = max(0.0, last_bad - resumed) if recovered else None
        classes = stats.error_classes
        unexpected = {k: v for k, v in classes.items() if k not in ("timeout", "503")}
        tail = [x for x in buckets if x["from_s"] >= last_bad]
        tail_lat = [v for b, lat in stats.lat.items() if b * STALL_BUCKET_S >= last_bad for v in lat]
        result = {"rate_rps": rate, "stall_at_s": args.stall_at, "stall_seconds": args.stall_seconds,
                  "after_s": args.after, "recovered": recovered, "recovery_s": recovery_s,
                  "recovery_limit_s": RECOVERY_LIMIT_S, "errors_before": before,
                  "errors": stats.error_count(), "error_classes": classes, "unexpected_errors": unexpected,
                  "p99_after_ms": ms(pct(tail_lat, 0.99)) if tail else None,
                  "rss_before_kb": rss.get("before_kb"), "rss_peak_kb": rss.get("peak_kb"), "rss_end_kb": app.rss_kb(),
                  "buckets": buckets, "error_samples": stats.samples}
        print("| from s | sent | p50 ms | p99 ms | errors |")
        print("|---:|---:|---:|---:|---:|")
        for x in buckets:
            print(f"| {x['from_s']} | {x['sent']} | {x['p50_ms']} | {x['p99_ms']} | {x['errors']} |")
        print(f"errors by class: {classes or 'none'}; before the stall: {before}")
        if recovered:
            print(f"recovered {recovery_s:.0f} s after the host resumed; p99 from then on {result['p99_after_ms']} ms")
        else:
            print("not recovered by the end of the run")
        for e in stats.samples:
            print(f"    error: {e}")
        write_result("stall.json", result)
        ok = recovered and recovery_s <= RECOVERY_LIMIT_S and not before and not unexpected
        return 0 if ok else 1
    finally:
        app.stop()


# ---------------------------------------------------------------- parser fuzz targets

FUZZ_CMD = ["cargo", "test", "--profile", "native", "--all-features", "-p", "krug-core", "--test", "parsers", "--test", "fuzz"]


def cargo_tests(cases, timeout):
    env = dict(os.environ)
    env["PROPTEST_CASES"] = str(cases)
    t0 = time.monotonic()
    try:
        out = subprocess.run(FUZZ_CMD, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
        text, code = out.stdout + out.stderr, out.returncode
    except subprocess.TimeoutExpired as e:
        text = (e.stdout or b"").decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        code = "timeout"
    secs = time.monotonic() - t0
    passed = re.findall(r"^test (\S+) \.\.\. ok$", text, re.M)
    failed = re.findall(r"^test (\S+) \.\.\. FAILED$", text, re.M)
    return {"seconds": secs, "passed": passed, "failed": failed, "exit": code, "output": text}


def run_fuzz(args):
    build = subprocess.run(FUZZ_CMD + ["--no-run"], cwd=ROOT)
    if build.returncode:
        return build.returncode
    listed = subprocess.run(FUZZ_CMD + ["--", "--list"], cwd=ROOT, capture_output=True, text=True).stdout
    names = re.findall(r"^(\S+): test$", listed, re.M)
    targets = [n for n in names if not n.startswith("regression_")]
    calibrate = 2000
    first = cargo_tests(calibrate, args.seconds * 2 + 120)
    left = args.seconds - first["seconds"]
    # Half the linear estimate: a long run costs more per case than the
    # calibration (the targets' databases grow), measured about 2×.
    cases = int(calibrate * left / first["seconds"] / 2) if first["seconds"] > 0 and left > 0 else 0
    cases = min(cases, 50_000_000)
    runs = [(calibrate, first)]
    print(f"fuzz: {len(targets)} targets; calibration {calibrate} cases each in {first['seconds']:.0f} s", flush=True)
    if cases > calibrate and not first["failed"] and first["exit"] == 0:
        print(f"fuzz: {cases} cases each (about {left:.0f} s)", flush=True)
        runs.append((cases, cargo_tests(cases, left * 2 + 120)))
    execs = sum(c * len([t for t in r["passed"] if t in targets]) for c, r in runs)
    failed = sorted({t for _, r in runs for t in r["failed"]})
    broken = [r["exit"] for _, r in runs if r["exit"] not in (0, 101)]
    crashes = len(failed) + len(broken)
    for _, r in runs:
        if r["failed"] or r["exit"]:
            print(r["output"][-6000:])
    secs = sum(r["seconds"] for _, r in runs)
    print(f"fuzz: {len(targets)} targets, {execs} execs in {secs:.0f} s, {crashes} crashes{': ' + ', '.join(failed) if failed else ''}")
    write_result("fuzz.json", {"targets": len(targets), "execs": execs, "crashes": crashes, "seconds": round(secs),
                               "cases_per_target": max(c for c, _ in runs), "failed": failed})
    return 1 if crashes else 0


# ---------------------------------------------------------------- summary

SUITES = [
    # (key, file, title)
    ("api_fuzz", "api_fuzz.json", "API fuzzing (schemathesis, every route × role)"),
    ("authz", "authz.json", "Authorization matrix"),
    ("crash", "crash.json", "Crash consistency (kill -9 under load)"),
    ("fuzz", "fuzz.json", "Parser fuzz targets"),
    ("soak", "soak.json", "Soak"),
    ("stall", "stall.json", "Stall recovery (host stopped under load)"),
    ("load", "load.json", "Load held"),
]


def count(v):
    return len(v) if isinstance(v, (list, dict)) else v


def num(v, digits=0):
    if v is None:
        return "–"
    if isinstance(v, (int, float)) and digits == 0:
        return f"{v:,.0f}".replace(",", " ")
    return f"{v:.{digits}f}"


def figures(key, d):
    if key == "api_fuzz":
        return (f"{num(count(d.get('operations')))} operations fuzzed / {num(count(d.get('examples')))} examples / "
                f"{num(count(d.get('failures')))} failures")
    if key == "authz":
        return f"{num(d.get('cells'))} matrix cells / {num(count(d.get('failures')))} failures"
    if key == "crash":
        return (f"{num(d.get('kill_points'))} kill points / {num(count(d.get('violations')))} invariant violations / "
                f"{num(count(d.get('lost')))} lost / {num(count(d.get('doubled')))} doubled")
    if key == "fuzz":
        return f"{num(d.get('targets'))} fuzz targets / {num(d.get('execs'))} execs / {num(d.get('crashes'))} crashes"
    if key == "soak":
        return (f"{num(d.get('minutes'))} min at {num(d.get('rate_rps'))} req/s: RSS {num(d.get('rss_start_kb', 0) / 1024, 1)} → "
                f"{num(d.get('rss_mid_kb', 0) / 1024, 1)} → {num(d.get('rss_end_kb', 0) / 1024, 1)} MiB, p99 {num(d.get('p99_first_ms'), 1)} → {num(d.get('p99_last_ms'), 1)} ms, "
                f"{num(d.get('errors'))} errors, {num(d.get('db_kb_per_1000_writes'), 1)} KiB per 1 000 writes")
    if key == "stall":
        classes = ", ".join(f"{v} {k}" for k, v in sorted((d.get("error_classes") or {}).items())) or "none"
        back = (f"recovered {num(d.get('recovery_s'))} s after resuming (limit {num(d.get('recovery_limit_s'))} s)"
                if d.get("recovered") else "not recovered")
        return (f"{num(d.get('stall_seconds'))} s stop at {num(d.get('rate_rps'))} req/s: {back}; errors {classes} "
                f"({num(d.get('errors_before'))} before the stop); p99 afterwards {num(d.get('p99_after_ms'), 1)} ms; "
                f"RSS {num((d.get('rss_before_kb') or 0) / 1024, 1)} → {num((d.get('rss_peak_kb') or 0) / 1024, 1)} → "
                f"{num((d.get('rss_end_kb') or 0) / 1024, 1)} MiB")
    if key == "load":
        return (f"{num(d.get('held_rps'))} req/s at p99 ≤ {P99_LIMIT_MS:.0f} ms (p50 {num(d.get('p50_ms'), 1)} ms, "
                f"p99 {num(d.get('p99_ms'), 1)} ms; closed-loop peak {num(d.get('peak_rps'))} req/s)")
    return json.dumps(d)


def bad_figures(key, d):
    """Whether the figures themselves say the suite failed."""
    if key in ("api_fuzz", "authz"):
        return bool(count(d.get("failures")))
    if key == "crash":
        return any(count(d.get(k)) for k in ("violations", "lost", "doubled"))
    if key == "fuzz":
        return bool(d.get("crashes"))
    if key == "soak":
        return bool(d.get("errors"))
    if key == "stall":
        return (not d.get("recovered") or (d.get("recovery_s") or 0) > d.get("recovery_limit_s", RECOVERY_LIMIT_S)
                or bool(d.get("errors_before")) or bool(d.get("unexpected_errors")))
    if key == "load":
        return not d.get("held_rps")
    return False


def run_summary(args):
    statuses = {}
    for s in args.status:
        name, _, code = s.partition("=")
        statuses[name] = code
    lines = [f"# Krug reliability — {time.strftime('%Y-%m-%d %H:%M:%S')}, {os.cpu_count()} cores", "",
             "| suite | figures | result |", "|---|---|---|"]
    failed = False
    for key, file, title in SUITES:
        path = os.path.join(args.dir, file)
        code = statuses.get(key)
        data = None
        if os.path.exists(path):
            try:
                with open(path) as f:
                    data = json.load(f)
            except ValueError:
                data = None
        if data is None:
            text = "not run"
            if code in (None, "skipped"):
                result = "not run" if code is None else "skipped"
            else:
                result = "failed (no figures)" if code != "0" else "no figures"
                failed = True
        else:
            text = figures(key, data)
            bad = bad_figures(key, data) or (code not in (None, "0", "skipped"))
            result = "**failed**" if bad else "pass"
            failed |= bad
        lines.append(f"| {title} | {text} | {result} |")
    table = "\n".join(lines)
    print(table)
    os.makedirs(os.path.join(ROOT, "bench-results"), exist_ok=True)
    saved = os.path.join(ROOT, "bench-results", "reliability-" + time.strftime("%Y%m%d-%H%M%S") + ".md")
    for path in (saved, os.path.join(args.dir, "summary.md")):
        with open(path, "w") as f:
            f.write(table + "\n")
    print(f"\nsaved {os.path.relpath(saved, ROOT)}")
    return 1 if failed else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("load", help="the busy-Saturday mix at rising rates")
    p.add_argument("--step-seconds", type=int, default=20)
    p.add_argument("--peak-seconds", type=int, default=10)
    p = sub.add_parser("soak", help="the mix at half the peak for N minutes")
    p.add_argument("--minutes", type=float, default=30)
    p.add_argument("--rate", type=float, default=0, help="req/s (default: half the peak)")
    p.add_argument("--interval", type=int, default=60, help="seconds per reported interval")
    p.add_argument("--warmup", type=int, default=15, help="seconds sent before the figures start")
    p = sub.add_parser("stall", help="the host stopped under load, then resumed: time to recover")
    p.add_argument("--rate", type=float, default=0,
                   help="req/s (default: the soak's, at most half the rate the load step held)")
    p.add_argument("--stall-at", type=float, default=30, help="seconds into the run")
    p.add_argument("--stall-seconds", type=float, default=8)
    p.add_argument("--after", type=float, default=90, help="seconds sent after the host resumed")
    p.add_argument("--warmup", type=int, default=15, help="seconds sent before the figures start")
    p = sub.add_parser("fuzz", help="the parser fuzz targets, bounded in time")
    p.add_argument("--seconds", type=int, default=300)
    p = sub.add_parser("summary", help="the table from the JSON files in DIR")
    p.add_argument("dir")
    p.add_argument("--status", action="append", default=[], help="NAME=EXIT of a suite that ran (or NAME=skipped)")
    args = ap.parse_args()
    # Line by line even into a pipe (scripts/reliability tees each suite).
    sys.stdout.reconfigure(line_buffering=True)
    code = {"load": run_load, "soak": run_soak, "stall": run_stall, "fuzz": run_fuzz, "summary": run_summary}[args.cmd](args)
    sys.exit(code)


if __name__ == "__main__":
    main()
