#!/usr/bin/env python3
"""Measures vguest-sim at fleet scale (sim/README.md, "Scale").

  python3 sim/tools/scale.py build/sim/vguest-sim [--vms 1000] [--procs 10000]
                             [--concurrent 1000] [--latency 200] [--file]

Starts one simulator with --vms N (or, with --file, an inventory file of
the same shape, for a simulator that has no --vms), creates --procs
`sleep 600` processes through /api, times list/get requests while they
are live, then sends --concurrent requests at once with latency_ms set,
and prints one JSON object of figures. Nothing here asserts anything:
the figures depend on the machine.
"""
import argparse
import asyncio
import http.client
import json
import os
import ssl
import subprocess
import sys
import tempfile
import threading
import time

USER, PASSWORD = "administrator@vsphere.local", "VMware1!"
GUEST = {"type": "USERNAME_PASSWORD", "user_name": "root",
         "interactive_session": False,
         "password": "guest-secret"}


def vm_id(i, n):
    return "vm-%0*d" % (max(4, len(str(n))), i)


def write_inventory(path, n):
    vms = [{"id": vm_id(i, n), "name": vm_id(i, n), "power_state": "POWERED_ON",
            "tools": "running", "os": "linux",
            "accounts": [{"user": "root", "password": "guest-secret"}]}
           for i in range(1, n + 1)]
    with open(path, "w") as f:
        json.dump({"users": [{"user": USER, "password": PASSWORD}],
                   "vms": vms}, f)


class Conn:
    """One keep-alive HTTPS connection."""

    def __init__(self, host, port, ctx, token=None):
        self.c = http.client.HTTPSConnection(host, port, context=ctx,
                                             timeout=120)
        self.token = token

    def call(self, method, path, body=None, headers=None):
        h = {"Content-Type": "application/json"}
        if self.token:
            h["vmware-api-session-id"] = self.token
        h.update(headers or {})
        data = None if body is None else json.dumps(body).encode()
        self.c.request(method, path, body=data, headers=h)
        r = self.c.getresponse()
        raw = r.read()
        return r.status, (json.loads(raw) if raw else None)


def timed(fn, n):
    t0 = time.perf_counter()
    for i in range(n):
        fn(i)
    return (time.perf_counter() - t0) / n * 1000.0


async def one_request(host, port, ctx, token, path, connected, go):
    reader, writer = await asyncio.open_connection(host, port, ssl=ctx)
    connected()
    await go.wait()
    t0 = time.perf_counter()
    writer.write(("GET %s HTTP/1.1\r\nHost: %s\r\n"
                  "vmware-api-session-id: %s\r\nConnection: close\r\n\r\n"
                  % (path, host, token)).encode())
    await writer.drain()
    data = await reader.read()
    writer.close()
    ok = data.startswith(b"HTTP/1.1 200")
    return t0, time.perf_counter(), ok


async def burst(host, port, ctx, token, path, n, simpid):
    """n connections opened first, then n requests sent at once."""
    go = asyncio.Event()
    count = [0]
    all_connected = asyncio.Event()

    def connected():
        count[0] += 1
        if count[0] == n:
            all_connected.set()

    t_conn = time.perf_counter()
    tasks = [asyncio.ensure_future(
        one_request(host, port, ctx, token, path, connected, go))
        for _ in range(n)]
    await asyncio.wait_for(all_connected.wait(), 300)
    t_go = time.perf_counter()
    threads = len(os.listdir("/proc/%d/task" % simpid))
    go.set()
    res = await asyncio.gather(*tasks)
    t_end = max(r[1] for r in res)
    return {"connect_s": round(t_go - t_conn, 3),
            "burst_s": round(t_end - t_go, 3),
            "ok": sum(1 for r in res if r[2]),
            "sim_threads_while_connected": threads}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("sim")
    ap.add_argument("--vms", type=int, default=1000)
    ap.add_argument("--procs", type=int, default=10000)
    ap.add_argument("--concurrent", type=int, default=1000)
    ap.add_argument("--latency", type=int, default=200)
    ap.add_argument("--file", action="store_true",
                    help="pass an inventory file instead of --vms")
    ap.add_argument("--threads", type=int, default=16)
    ap.add_argument("--reps", type=int, default=200,
                    help="requests per timed figure")
    a = ap.parse_args()

    work = tempfile.mkdtemp(prefix="vguest-scale-")
    args = [a.sim, "--port", "0", "--lifetime", "3600", "--retention", "1800"]
    if a.file:
        inv = os.path.join(work, "inventory.json")
        write_inventory(inv, a.vms)
        args += ["--inventory", inv]
    else:
        args += ["--vms", str(a.vms)]
    env = dict(os.environ, TMPDIR=work)
    p = subprocess.Popen(args, stdout=subprocess.PIPE, env=env)
    ready = json.loads(p.stdout.readline())
    host, port = "127.0.0.1", int(ready["url"].rsplit(":", 1)[1])
    ctx = ssl.create_default_context(cafile=ready["ca_file"])
    out = {"vms": a.vms, "procs": a.procs}
    try:
        c = Conn(host, port, ctx)
        import base64
        auth = base64.b64encode(("%s:%s" % (USER, PASSWORD)).encode()).decode()
        st, token = c.call("POST", "/api/session",
                           headers={"Authorization": "Basic " + auth})
        assert st == 201, st
        c.token = token
        vms = [vm_id(i, a.vms) for i in range(1, a.vms + 1)]
        base = "/api/vcenter/vm/%s/guest/processes"
        spec = {"credentials": GUEST, "spec": {"path": "/bin/sleep",
                                               "arguments": "600"}}

        # few processes: the cost of a list and a get on an idle simulator
        st, pid0 = c.call("POST", base % vms[0] + "?action=create", spec)
        assert st == 201, st
        lst = lambda i: c.call("POST", base % vms[0] + "?action=list",
                               {"credentials": GUEST})
        get = lambda i: c.call("POST", (base % vms[0]) + "/%d?action=get" % pid0,
                               {"credentials": GUEST})
        out["list_ms_idle"] = round(timed(lst, a.reps), 3)
        out["get_ms_idle"] = round(timed(get, a.reps), 3)

        # many processes, created by a few threads in parallel
        pids = {}
        lock = threading.Lock()
        todo = list(range(1, a.procs))  # the first one exists already

        def worker():
            w = Conn(host, port, ctx, token)
            while True:
                with lock:
                    if not todo:
                        return
                    i = todo.pop()
                vm = vms[i % a.vms]
                st, pid = w.call("POST", base % vm + "?action=create", spec)
                assert st == 201, (st, pid)
                with lock:
                    pids.setdefault(vm, []).append(pid)

        t0 = time.perf_counter()
        th = [threading.Thread(target=worker) for _ in range(a.threads)]
        for t in th:
            t.start()
        for t in th:
            t.join()
        out["create_per_s"] = round((a.procs - 1) / (time.perf_counter() - t0), 1)

        st, stats = c.call("GET", "/sim/stats")
        out["live"] = sum(1 for x in stats["processes"] if not x["exited"])
        # a list of one VM (10 processes) and a get, with every process live
        out["list_ms"] = round(timed(lst, a.reps), 3)
        out["get_ms"] = round(timed(get, a.reps), 3)
        far = vms[-1]
        farpid = pids[far][-1]
        out["get_ms_last"] = round(timed(
            lambda i: c.call("POST", (base % far) + "/%d?action=get" % farpid,
                             {"credentials": GUEST}), a.reps), 3)
        out["vm_filter_ms"] = round(timed(
            lambda i: c.call("GET", "/api/vcenter/vm?vms=" + far), a.reps), 3)
        out["vm_list_all_ms"] = round(timed(
            lambda i: c.call("GET", "/api/vcenter/vm"), 20), 3)

        # many requests in flight at once, each delayed by latency_ms
        c.call("POST", "/sim/control", {"latency_ms": a.latency})
        out["latency_ms"] = a.latency
        out["concurrent"] = a.concurrent
        out["burst"] = asyncio.run(burst(host, port, ctx, token,
                                         "/api/vcenter/vm?vms=" + far,
                                         a.concurrent, p.pid))
        c2 = Conn(host, port, ctx)
        c2.call("POST", "/sim/control", {"latency_ms": 0})
        st, stats = c2.call("GET", "/sim/stats")
        with open("/proc/%d/status" % p.pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    out["sim_peak_rss_kib"] = int(line.split()[1])
    finally:
        try:
            Conn(host, port, ctx).call("POST", "/sim/shutdown")
        except Exception:
            p.terminate()
        p.wait(120)
    print(json.dumps(out))


if __name__ == "__main__":
    sys.exit(main())
