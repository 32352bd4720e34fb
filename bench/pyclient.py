#!/usr/bin/env python3
"""The Python baseline of the fan-out: /bin/true in every powered-on VM of
the inventory, the way people script the vSphere /api with `requests`.

POST /api/session with Basic auth, then a ThreadPoolExecutor(32) over the
VMs, one requests.Session per thread (kept-alive connections, one per
thread; `verify` given with each request, since REQUESTS_CA_BUNDLE
in the environment would override a Session's): POST .../guest/processes?action=create, then
POST .../processes/{pid}?action=get until the answer has an exit_code,
sleeping between polls with vguest's back-off (50 ms doubling to 1 s), so
that only the client differs.

  pyclient.py --url URL --ca FILE --inventory FILE [--threads 32]

Prints one JSON line: wall and CPU seconds from the first create to the
last exit code (login and thread start-up excluded), processes, failures.
"""
import argparse
import concurrent.futures
import json
import threading
import time

import requests


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--inventory", required=True)
    ap.add_argument("--threads", type=int, default=32)
    a = ap.parse_args()

    with open(a.inventory) as f:
        inv = json.load(f)
    user = inv["users"][0]
    vms = [vm for vm in inv["vms"] if vm.get("power_state") == "POWERED_ON"]

    r = requests.post(a.url + "/api/session", auth=(user["user"], user["password"]), verify=a.ca)
    r.raise_for_status()
    token = r.json()

    local = threading.local()

    def session():
        s = getattr(local, "s", None)
        if s is None:
            s = local.s = requests.Session()
            s.headers["vmware-api-session-id"] = token
        return s

    def run(vm):
        acc = vm["accounts"][0]
        cred = {"interactive_session": False, "type": "USERNAME_PASSWORD",
                "user_name": acc["user"], "password": acc["password"]}
        base = "%s/api/vcenter/vm/%s/guest/processes" % (a.url, vm["id"])
        s = session()
        r = s.post(base + "?action=create", json={"credentials": cred, "spec": {"path": "/bin/true"}},
                   verify=a.ca)
        r.raise_for_status()
        pid = r.json()
        delay = 0.05
        while True:
            time.sleep(delay)
            r = s.post("%s/%d?action=get" % (base, pid), json={"credentials": cred}, verify=a.ca)
            r.raise_for_status()
            info = r.json()
            if "exit_code" in info:
                return info["exit_code"]
            delay = min(delay * 2, 1.0)

    with concurrent.futures.ThreadPoolExecutor(a.threads) as pool:
        # start the threads and their sessions before the clock does
        list(pool.map(lambda _: session(), range(a.threads * 4)))
        t0, c0 = time.monotonic(), time.process_time()
        futures = [pool.submit(run, vm) for vm in vms]
        failed = nonzero = 0
        first = None
        for fu in futures:
            try:
                if fu.result() != 0:
                    nonzero += 1
            except Exception as e:  # a failed process is counted, not fatal
                failed += 1
                first = first or repr(e)
        wall, cpu = time.monotonic() - t0, time.process_time() - c0
    print(json.dumps({"wall": wall, "cpu": cpu, "n": len(vms), "failed": failed,
                      "nonzero": nonzero, "error": first, "threads": a.threads}))


if __name__ == "__main__":
    main()
