"""Benchmark driver for scripts/bench. Loopback only; every run is bounded.

Measures, in one run: the native floor server, then the host serving the app
(cold start, trivial and SQLite-backed routes at several concurrencies, RSS),
and reports each host figure as a ratio of the floor's or the health route's.
"""

import argparse
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


def wrk(url, connections, duration, script=None, threads=2):
    cmd = ["wrk", f"-t{min(threads, connections)}", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "5s"]
    if script:
        cmd += ["-s", script]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, timeout=duration + 60).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return {
        "rps": rps,
        "p50": to_ms(lat["50"]),
        "p99": to_ms(lat["99"]),
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "errors": errors.group(0) if errors else "",
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
    proc = Proc([HOST_BIN, "--manifest", os.path.join(ROOT, "spin.toml"), "--listen", f"127.0.0.1:{port}", "--state-dir", state_dir, "--no-cron"], env=env)
    token = env["SPIN_VARIABLE_JOBS_TOKEN"]
    ok = wait_http(f"http://127.0.0.1:{port}/internal/migrate", method="POST", headers={"authorization": f"Bearer {token}"})
    if not ok:
        proc.stop()
        sys.exit("host did not start")
    ok = wait_http(f"http://127.0.0.1:{port}/api/v1/health")
    return proc, (time.monotonic() - t0) * 1000


def fmt_row(name, conns, r, base):
    ratio = r["rps"] / base["rps"] if base and base["rps"] else 1.0
    extra = f" non-2xx {r['non2xx']}" if r["non2xx"] else ""
    return f"| {name} | {conns} | {r['rps']:.0f} | {r['p50']:.2f} | {r['p99']:.2f} | {ratio:.2f}{extra} |"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--connections", default="4,16,64")
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    conns = [int(c) for c in args.connections.split(",")]
    lines = []
    say = lambda s="": (print(s, flush=True), lines.append(s))

    env = dict(os.environ)
    env["SPIN_VARIABLE_JWT_SECRET"] = os.urandom(32).hex()
    env["SPIN_VARIABLE_JOBS_TOKEN"] = os.urandom(16).hex()

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
    _, hwm = rss_kb(host.p.pid)
    host.stop()
    shutil.rmtree(state, ignore_errors=True)

    say("## Throughput and latency (ratio = req/s ÷ native floor at the same concurrency)")
    say()
    say("| route | conns | req/s | p50 ms | p99 ms | ratio |")
    say("|---|---:|---:|---:|---:|---:|")
    for c in conns:
        say(fmt_row("native hyper floor", c, floor_res[c], floor_res[c]))
    for name, by_c in results.items():
        for c, r in by_c.items():
            say(fmt_row(name, c, r, floor_res[c]))
    say()
    triv = results.get("GET /pos/ (static, no storage)")
    if triv:
        c0 = conns[0]
        over = triv[c0]["p50"] - floor_res[c0]["p50"]
        say(f"Per-request instantiation + guest overhead (p50 static route − p50 floor, {c0} conns): {over:.2f} ms")
    say(f"Cold start (process start → first 200, empty compile cache): {cold_ms:.0f} ms; warm (cached): {warm_ms:.0f} ms")
    say(f"Host RSS under load: peak sampled {peak_rss / 1024:.1f} MiB, high-water {hwm / 1024:.1f} MiB")
    say()
    say("## Component sizes")
    say()
    say("| component | bytes |")
    say("|---|---:|")
    for f in sorted(os.listdir(WASM_DIR)):
        if f.endswith(".wasm") and f.startswith("krug_"):
            say(f"| {f} | {os.path.getsize(os.path.join(WASM_DIR, f))} |")

    os.makedirs(os.path.join(ROOT, "bench-results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench-results", time.strftime("%Y%m%d-%H%M%S") + ".md"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
