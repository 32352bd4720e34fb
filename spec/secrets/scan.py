#!/usr/bin/env python3
"""The secret scan (issue 8): every example and CLI command run with planted
secrets, and every place a secret could leak searched for them.

Planted: the vCenter password, the guest password, a SAML token, the
password in the server URL's user info, and two wrong passwords (a wrong
secret must not show either). Searched: stdout and stderr of every run,
tostring of every object and error (spec/secrets/probe.lua prints them), the
REPL's history file after secret-bearing input typed at a terminal, a core
file of a live session (gcore), and the whole memory of the process after
its objects are closed and collected. The forms searched are the secrets
themselves and the Basic-auth header values built from them.

  scan.py VGUEST VGUEST_SIM SOURCE_DIR

Exit status 0 when nothing was found anywhere, 1 with a list of the hits.
Each check also proves it can see: the probe's output must hold its
objects' descriptions, the history must hold the harmless lines, the core
file and the memory must hold a marker string the probe keeps alive.
"""
import base64
import json
import os
import pty
import re
import secrets as rnd
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

VGUEST, SIM, SRC = sys.argv[1:4]
TAG = rnd.token_hex(6)
VC_PASSWORD = "vcpw" + TAG
URL_PASSWORD = "urlpw" + TAG
GUEST_PASSWORD = "guestpw" + TAG
SAML_USER = "samluser" + TAG
SAML_TOKEN = "saml:" + SAML_USER
WRONG_VC = "badvc" + TAG
WRONG_GUEST = "badguest" + TAG
VC_USER = "administrator@vsphere.local"
URL_USER = "urluser"


def basic(user, pw):
    return base64.b64encode(f"{user}:{pw}".encode()).decode()


NEEDLES = {
    "vCenter password": VC_PASSWORD,
    "URL password": URL_PASSWORD,
    "guest password": GUEST_PASSWORD,
    "SAML token": SAML_TOKEN,
    "wrong vCenter password": WRONG_VC,
    "wrong guest password": WRONG_GUEST,
    "Basic auth (vCenter)": basic(VC_USER, VC_PASSWORD),
    "Basic auth (URL)": basic(URL_USER, URL_PASSWORD),
    "Basic auth (wrong)": basic(VC_USER, WRONG_VC),
}

# The probe makes one secret itself, from a Lua string it builds (never in
# the environment): after close and collectgarbage no copy may remain.
LITERAL = "literalpw" + TAG
# Taken from the environment by the probe's process: held for its life.
ENV_HELD = {p: (URL_PASSWORD, GUEST_PASSWORD, SAML_TOKEN, WRONG_VC, WRONG_GUEST)
            for p in ("api", "rest", "vim25")}

hits = []
checked = []
tmp = tempfile.mkdtemp(prefix="vguest-scan-")


def scan(where, data):
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    checked.append(where)
    for name, needle in NEEDLES.items():
        n = data.count(needle.encode())
        if n:
            hits.append(f"{where}: {n} x {name}")


def inventory():
    vms = []
    for i, name in enumerate(["web-01", "web-02", "web-03"]):
        vms.append({"id": f"vm-{42 + i}", "name": name, "power_state": "POWERED_ON",
                    "tools": "running", "os": "linux",
                    "accounts": [{"user": "root", "password": GUEST_PASSWORD},
                                 {"user": SAML_USER, "password": GUEST_PASSWORD + "x"}]})
    vms.append({"id": "vm-47", "name": "app-01", "power_state": "POWERED_ON",
                "tools": "not_running", "os": "linux",
                "accounts": [{"user": "root", "password": GUEST_PASSWORD}]})
    inv = {"users": [{"user": VC_USER, "password": VC_PASSWORD},
                     {"user": URL_USER, "password": URL_PASSWORD}], "vms": vms}
    path = os.path.join(tmp, "inventory.json")
    with open(path, "w") as f:
        json.dump(inv, f)
    return path


def start_sim():
    p = subprocess.Popen([SIM, "--port", "0", "--bind", "127.0.0.1", "--lifetime", "600",
                          "--inventory", inventory()],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=dict(os.environ, TMPDIR=tmp))
    line = p.stdout.readline()
    if not line:
        sys.exit("scan: the simulator did not start: " + p.stderr.read())
    return p, json.loads(line)


def base_env(ready, protocol):
    env = {k: v for k, v in os.environ.items() if not k.startswith("VGUEST_")}
    env.update(VGUEST_SERVER=ready["url"], VGUEST_USER=VC_USER, VGUEST_PASSWORD=VC_PASSWORD,
               VGUEST_GUEST_USER="root", VGUEST_GUEST_PASSWORD=GUEST_PASSWORD,
               VGUEST_CA_FILE=ready["ca_file"], VGUEST_PROTOCOL=protocol,
               VGUEST_SIM=SIM, TMPDIR=tmp, HOME=tmp, XDG_STATE_HOME=os.path.join(tmp, "state"))
    return env


def url_with_userinfo(url):
    return url.replace("https://", f"https://{URL_USER}:{URL_PASSWORD}@", 1)


def run(where, argv, env, stdin=""):
    r = subprocess.run(argv, env=env, input=stdin, capture_output=True, text=True,
                       errors="surrogateescape", timeout=300, cwd=SRC)
    scan(where + " stdout", r.stdout)
    scan(where + " stderr", r.stderr)
    return r


def mem_regions(pid):
    """(lo, hi, name, dontdump) of every readable mapping of pid."""
    region = None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            fields = line.split()
            if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                if region:
                    yield region
                lo, hi = (int(x, 16) for x in fields[0].split("-"))
                name = fields[5] if len(fields) > 5 else ""
                region = None
                if "r" in fields[1] and name not in ("[vvar]", "[vsyscall]"):
                    region = [lo, hi, name, False]
            elif fields and fields[0] == "VmFlags:" and region:
                region[3] = "dd" in fields[1:]
    if region:
        yield region


def read_memory(pid):
    """(memory outside secret storage, memory of secret storage): the
    runtime keeps live secrets in mappings of their own, excluded from core
    files (VmFlags dd)."""
    out, kept = [], []
    with open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for lo, hi, _, dontdump in mem_regions(pid):
            try:
                mem.seek(lo)
                (kept if dontdump else out).append(mem.read(hi - lo))
            except OSError:
                pass
    return b"".join(out), b"".join(kept)


def wait_line(proc, want, deadline=120):
    buf = b""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        r, _, _ = select.select([proc.stdout], [], [], 1)
        if r:
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            buf += chunk
            if want.encode() + b"\n" in buf:
                return buf
    raise SystemExit(f"scan: the probe never printed {want}: {buf[-2000:]!r} "
                     f"{proc.stderr.read().decode(errors='replace')[-2000:]}")


def probe(protocol, ready):
    env = base_env(ready, protocol)
    env.update(VGUEST_SERVER=url_with_userinfo(ready["url"]), SCAN_SAML_USER=SAML_USER,
               SCAN_SAML_TOKEN=SAML_TOKEN, SCAN_WRONG_PASSWORD=WRONG_GUEST,
               SCAN_WRONG_VC_PASSWORD=WRONG_VC, SCAN_SERVER_PLAIN=ready["url"], SCAN_TAG=TAG)
    del env["VGUEST_USER"], env["VGUEST_PASSWORD"]
    proc = subprocess.Popen([VGUEST, "run", os.path.join(SRC, "spec/secrets/probe.lua")],
                            env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=SRC)
    where = f"probe ({protocol})"
    out = wait_line(proc, "LIVE")
    for needle in (b"session: vguest.Session", b"credentials: vguest.Credentials",
                   b"secret: vguest.Secret", b"bad login error"):
        if needle not in out:
            hits.append(f"{where}: the probe's output lacks {needle!r}: the scan cannot see")
    core = os.path.join(tmp, f"core-{protocol}")
    g = subprocess.run(["gcore", "-o", core, str(proc.pid)], capture_output=True, text=True)
    core_file = f"{core}.{proc.pid}"
    if g.returncode != 0 or not os.path.exists(core_file):
        hits.append(f"{where}: gcore failed: {g.stderr.strip()[-300:]}")
    else:
        with open(core_file, "rb") as f:
            data = f.read()
        if b"LIVE" not in data or b"vguest.Session" not in data:
            hits.append(f"{where}: the core file lacks the probe's strings: the scan cannot see")
        scan(f"{where} core file of a live session", data)
        os.unlink(core_file)
    proc.stdin.write(b"\n")
    proc.stdin.flush()
    out += wait_line(proc, "CLOSED")
    memory, kept = read_memory(proc.pid)
    if b"CLOSED" not in memory:
        hits.append(f"{where}: the memory read lacks the probe's strings: the scan cannot see")
    scan(f"{where} memory after close and collectgarbage", memory)
    # What the module still holds after everything was closed: the secrets
    # it took from the environment (so that a second vg.connect{} finds
    # them), each once, in secret storage; nothing else, and never the
    # literal secret the probe made and closed.
    for name, needle in NEEDLES.items():
        n = kept.count(needle.encode())
        if needle in ENV_HELD.get(protocol, ()):
            if n != 1:
                hits.append(f"{where} secret storage: {n} x {name}, 1 expected (taken from the environment)")
        elif n:
            hits.append(f"{where} secret storage after close: {n} x {name}")
    lit = LITERAL.encode()
    if b"literal secret used" not in out:
        hits.append(f"{where}: the probe did not report its literal secret's use: the scan cannot see")
    if memory.count(lit) + kept.count(lit):
        hits.append(f"{where} memory after close: {memory.count(lit) + kept.count(lit)} x the literal secret")
    rest, err = proc.communicate(input=b"\n", timeout=60)
    scan(f"{where} stdout", out + rest)
    scan(f"{where} stderr", err)
    if proc.returncode != 0:
        hits.append(f"{where}: exit status {proc.returncode}: {err.decode(errors='replace')[-500:]}")


# Inputs typed at the REPL. The first group mentions a secret, however it is
# written: none may reach the history file. The second group must.
SECRET_INPUTS = [
    f'pw = "{WRONG_GUEST}"',
    f'password = "{WRONG_GUEST}"',
    f'local password="{WRONG_GUEST}"',
    f't = {{["password"]="{WRONG_GUEST}"}}',
    f"t = {{ ['password'] = '{WRONG_GUEST}' }}",
    f'password = pw .. "{WRONG_GUEST}"',
    f'x = vg.secret(("{WRONG_GUEST}"))',
    f'x = vg.secret "{WRONG_GUEST}"',
    f"x = vg.secret [[{WRONG_GUEST}]]",
    f'c = {{ user = "root", saml_token = "{WRONG_GUEST}" }}',
    f'c = {{ user = "root", Password = "{WRONG_GUEST}" }}',
    f'PASSWD = "{WRONG_GUEST}"',
    f'c = {{ user = "root", passwd = "{WRONG_GUEST}" }}',
    f'token = "{WRONG_GUEST}"',
    f'u = "https://root:{WRONG_GUEST}@127.0.0.1:1"',
    f'k = "pass" .. "word"; t = {{[k] = "{WRONG_GUEST}"}}',
    f'secret_key = "{WRONG_GUEST}"',
    f'cred = {{ "root", "{WRONG_GUEST}" }}',
    f'api_key = "{WRONG_GUEST}"',
]
PLAIN_INPUTS = ["x = 1 + 2", "print(\"plain history line\")", "t = { user = 'root' }"]


def repl_history(ready):
    env = base_env(ready, "api")
    hist = os.path.join(env["XDG_STATE_HOME"], "vguest", "history")
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(VGUEST, [VGUEST, "repl"], env)
    out = b""

    def read_until(want, start, t=20):
        nonlocal out
        end = time.monotonic() + t
        while time.monotonic() < end:
            if want in out[start:]:
                return
            r, _, _ = select.select([fd], [], [], 0.5)
            if r:
                try:
                    out += os.read(fd, 65536)
                except OSError:
                    break
        raise SystemExit(f"scan: the REPL never printed {want!r}: {out[-1000:]!r}")

    read_until(b"> ", 0)
    for line in SECRET_INPUTS + PLAIN_INPUTS:
        mark = len(out)
        os.write(fd, line.encode() + b"\r")
        read_until(b"> ", mark + len(line))
    # Ctrl-D ends the REPL at an empty line; one typed while it is between
    # two reads can be lost (the terminal is in cooked mode then), so it is
    # typed again until the REPL exits, each time after a Ctrl-U that
    # empties the line (seen under load: the REPL blocked in libedit's
    # read, every Ctrl-D taken as delete-char on a line left non-empty),
    # and the REPL is killed if it never exits.
    for _ in range(10):
        try:
            os.write(fd, b"\x15\x04")
        except OSError:
            pass
        end = time.monotonic() + 2
        while time.monotonic() < end:
            r, _, _ = select.select([fd], [], [], 0.2)
            if r:
                try:
                    out += os.read(fd, 65536)
                except OSError:
                    pass
            if os.waitpid(pid, os.WNOHANG)[0]:
                break
        else:
            continue
        break
    else:
        # what it was doing, for the report: its state, kernel wait channel
        # and a backtrace (gdb, installed by scripts/bootstrap)
        state = ""
        for f in ("stat", "wchan"):
            try:
                state += open(f"/proc/{pid}/{f}").read().strip() + " | "
            except OSError:
                pass
        bt = subprocess.run(["gdb", "-p", str(pid), "-batch", "-ex", "bt"],
                            capture_output=True, text=True, timeout=60).stdout
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        frames = " / ".join(l.split(" in ")[-1][:60] for l in bt.splitlines() if l.startswith("#"))
        hits.append(f"REPL: it did not exit on Ctrl-D: {state} backtrace: {frames[:1500]} "
                    f"last output: {out[-300:]!r}")
    text = open(hist, "rb").read() if os.path.exists(hist) else b""
    # libedit writes its history vis(3)-encoded: "\040" for a space
    text = re.sub(rb"\\([0-7]{3})", lambda m: bytes([int(m.group(1), 8)]), text)
    for line in PLAIN_INPUTS:
        if line.encode() not in text:
            hits.append(f"REPL history: the harmless line {line!r} is missing: the scan cannot see")
    scan("REPL history file", text)
    for line in SECRET_INPUTS:
        if line.encode() in text:
            hits.append(f"REPL history holds {line!r}")


def main():
    sim, ready = start_sim()
    try:
        for protocol in ("api", "rest", "vim25"):
            env = base_env(ready, protocol)
            for ex in ("quickstart", "fanout", "collect"):
                run(f"examples/{ex}.lua ({protocol})", [VGUEST, "run", f"examples/{ex}.lua"], env)
            uenv = dict(env, VGUEST_SERVER=url_with_userinfo(ready["url"]))
            del uenv["VGUEST_USER"], uenv["VGUEST_PASSWORD"]
            run(f"URL user info ({protocol})", [VGUEST, "run", "examples/quickstart.lua"], uenv)
            run(f"wrong vCenter password ({protocol})", [VGUEST, "run", "examples/quickstart.lua"],
                dict(env, VGUEST_PASSWORD=WRONG_VC))
            run(f"wrong guest password ({protocol})", [VGUEST, "run", "examples/quickstart.lua"],
                dict(env, VGUEST_GUEST_PASSWORD=WRONG_GUEST))
            run(f"REPL, piped ({protocol})", [VGUEST, "repl"], env,
                stdin="s = vg.connect{}\ns\ns:info()\ng = s:vm('web-01'):guest(vg.credentials{})\n"
                      "g\ng:list()\nvg.credentials{}\nvg.secret{env='VGUEST_PASSWORD'}\n"
                      "error(select(2, pcall(vg.connect, {password = vg.secret('" + WRONG_VC +
                      "')})))\n")
            probe(protocol, ready)
        dead = base_env(ready, "api")
        dead["VGUEST_SERVER"] = f"https://{URL_USER}:{URL_PASSWORD}@127.0.0.1:1"
        run("URL user info, dead server", [VGUEST, "run", "examples/quickstart.lua"], dead)
        run("vguest --help", [VGUEST, "--help"], base_env(ready, "api"))
        run("vguest run --sim", [VGUEST, "run", "--sim", "examples/quickstart.lua"],
            base_env(ready, "api"))
        repl_history(ready)
    finally:
        sim.send_signal(signal.SIGTERM)
        try:
            _, err = sim.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            sim.kill()
            _, err = sim.communicate()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"secret scan: {len(checked)} outputs, files and memory images searched "
          f"for {len(NEEDLES)} forms of {6} planted secrets")
    if hits:
        print(f"secret scan: {len(hits)} hits:")
        for h in hits:
            print("  " + h)
        return 1
    print("secret scan: 0 hits")
    return 0


if __name__ == "__main__":
    sys.exit(main())
