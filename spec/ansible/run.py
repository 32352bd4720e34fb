#!/usr/bin/env python3
"""The Ansible spec (issue 11, item 4): the vguest.fleet collection's
vguest_exec module run by ansible-playbook against a simulator.

  run.py VGUEST VGUEST_SIM SOURCE_DIR

It starts vguest-sim on loopback with an inventory whose passwords are
planted random strings, then runs, with connection local, inventory
localhost, ANSIBLE_COLLECTIONS_PATH=SOURCE_DIR/ansible and HOME in a
temporary directory (nothing from the network, nothing written to the
real ~/.ansible):

  1. spec/ansible/site.yml: its own asserts (three VMs, a shell line,
     non-zero exits, a powered-off VM, check mode, an untrusted
     certificate and validate_certs false, a wrong guest password, a wrong
     vCenter password, no VM matched, argv with cmd), then every task's result
     read back (spec/ansible/callback_plugins/record.py writes them: the
     json callback is not in ansible-core) and the file the play writes;
  2. the same play with -vvv and the default callback, for the scan;
  3. spec/ansible/fail.yml, a failure not ignored: exit 2, the VM named;
  4. the README's vguest_exec play, as written but for the server;
  5. ansible-doc on the module: every parameter documented.

vguest_bin is a wrapper that logs vguest's command lines and the names of
its VGUEST_* variables before it execs vguest: the secrets must reach
vguest in its environment, never its command line. The scan then searches
every output, the Ansible log, the wrapper's log, the files the play wrote
and the temporary HOME for every planted secret (and its Basic-auth form).

Exit status 0 when all holds, 1 with a list of what did not, 77 (skipped)
when ansible-playbook is not installed.
"""
import base64
import json
import os
import re
import secrets as rnd
import select
import shutil
import subprocess
import sys
import tempfile
import time

T0 = time.monotonic()
PLAYBOOK = shutil.which("ansible-playbook")
if not PLAYBOOK:
    print("SKIP: ansible-playbook not found: install Debian's ansible-core "
          "(scripts/bootstrap does) to run the Ansible spec")
    sys.exit(77)
ANSIBLE_DOC = shutil.which("ansible-doc") or os.path.join(os.path.dirname(PLAYBOOK), "ansible-doc")

VGUEST, SIM, SRC = (os.path.abspath(a) for a in sys.argv[1:4])
HERE = os.path.join(SRC, "spec", "ansible")
MODULE = os.path.join(SRC, "ansible", "ansible_collections", "vguest", "fleet", "plugins", "modules",
                      "vguest_exec.py")
TAG = rnd.token_hex(6)
VC_USER = "administrator@vsphere.local"
VC_PASSWORD = "vcpw" + TAG
GUEST_PASSWORD = "guestpw" + TAG
WRONG_GUEST = "badguest" + TAG
WRONG_VC = "badvc" + TAG


def basic(user, pw):
    return base64.b64encode(f"{user}:{pw}".encode()).decode()


NEEDLES = {
    "vCenter password": VC_PASSWORD,
    "guest password": GUEST_PASSWORD,
    "wrong guest password": WRONG_GUEST,
    "wrong vCenter password": WRONG_VC,
    "Basic auth (vCenter)": basic(VC_USER, VC_PASSWORD),
    "Basic auth (guest)": basic("root", GUEST_PASSWORD),
}

problems = []
tmp = tempfile.mkdtemp(prefix="vguest-ansible-")
home = os.path.join(tmp, "home")
out_dir = os.path.join(tmp, "out")
for d in (home, out_dir, os.path.join(tmp, "simtmp"), os.path.join(tmp, "bin")):
    os.makedirs(d)


def check(ok, what):
    print(("ok     " if ok else "NOT OK ") + what)
    if not ok:
        problems.append(what)
    return ok


def scan(where, data):
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    for name, needle in NEEDLES.items():
        if needle.encode() in data:
            problems.append(f"{name} found in {where}")
            print(f"NOT OK {name} found in {where}")


# --- the simulator, with planted passwords --------------------------------
with open(os.path.join(SRC, "sim", "inventory.json")) as f:
    inv = json.load(f)
inv["users"][0]["password"] = VC_PASSWORD
for vm in inv["vms"]:
    for acct in vm.get("accounts", []):
        acct["password"] = GUEST_PASSWORD
inv_path = os.path.join(tmp, "inventory.json")
with open(inv_path, "w") as f:
    json.dump(inv, f)
sim_err = open(os.path.join(tmp, "sim.err"), "w")
sim = subprocess.Popen([SIM, "--port", "0", "--lifetime", "600", "--inventory", inv_path],
                       stdout=subprocess.PIPE, stderr=sim_err, stdin=subprocess.DEVNULL,
                       env=dict(os.environ, TMPDIR=os.path.join(tmp, "simtmp")))
ready, _, _ = select.select([sim.stdout], [], [], 20)
line = sim.stdout.readline() if ready else b""
if not line:
    sim.kill()
    with open(os.path.join(tmp, "sim.err")) as f:
        print("the simulator did not start: " + f.read())
    sys.exit(1)
info = json.loads(line)


def stop_sim():
    if sim.poll() is None:
        sim.terminate()
        try:
            sim.wait(10)
        except subprocess.TimeoutExpired:
            sim.kill()


try:
    # --- vguest_bin: a wrapper that logs command lines and variable names -
    argv_log = os.path.join(tmp, "argv.log")
    wrapper = os.path.join(tmp, "bin", "vguest")
    with open(wrapper, "w") as f:
        f.write(f"""#!/bin/sh
printf 'argv: %s\\n' "$*" >> '{argv_log}'
printf 'env: %s\\n' "$(env | sed -n 's/^\\(VGUEST_[A-Z_]*\\)=.*/\\1/p' | sort | tr '\\n' ' ')" >> '{argv_log}'
exec '{VGUEST}' "$@"
""")
    os.chmod(wrapper, 0o755)

    variables = dict(server=info["url"], ca_file=info["ca_file"], vc_user=VC_USER,
                     vc_password=VC_PASSWORD, guest_password=GUEST_PASSWORD,
                     wrong_guest_password=WRONG_GUEST, wrong_vc_password=WRONG_VC,
                     vguest_bin=wrapper, out_dir=out_dir,
                     marker=os.path.join(out_dir, "marker-check-mode-must-not-make"))
    vars_path = os.path.join(tmp, "vars.json")
    with open(vars_path, "w") as f:
        json.dump(variables, f)
    os.chmod(vars_path, 0o600)
    inventory = os.path.join(tmp, "hosts.yml")
    with open(inventory, "w") as f:
        f.write("all:\n  hosts:\n    localhost:\n      ansible_connection: local\n"
                "      ansible_python_interpreter: \"{{ ansible_playbook_python }}\"\n")
    cfg = os.path.join(tmp, "ansible.cfg")
    with open(cfg, "w") as f:
        f.write("[defaults]\n")

    real_home = os.path.expanduser("~")
    real_dot = os.path.join(real_home, ".ansible")
    real_before = os.stat(real_dot).st_mtime_ns if os.path.exists(real_dot) else None

    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("VGUEST_", "ANSIBLE_", "PYTHON"))}
    # PYTHONDONTWRITEBYTECODE: no __pycache__ beside the callback plugin
    env.update(HOME=home, PYTHONDONTWRITEBYTECODE="1", XDG_CONFIG_HOME=os.path.join(home, ".config"),
               ANSIBLE_CONFIG=cfg,
               ANSIBLE_COLLECTIONS_PATH=os.path.join(SRC, "ansible"),
               ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="False",
               ANSIBLE_LOCAL_TEMP=os.path.join(home, ".ansible", "tmp"),
               ANSIBLE_REMOTE_TEMP=os.path.join(home, ".ansible", "tmp"),
               ANSIBLE_LOG_PATH=os.path.join(tmp, "ansible.log"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="False",
               ANSIBLE_LOCALHOST_WARNING="False", ANSIBLE_INVENTORY_UNPARSED_WARNING="False",
               ANSIBLE_GALAXY_SERVER="http://127.0.0.1:9/")

    def play(name, *extra, record=None):
        e = dict(env)
        if record:
            e.update(ANSIBLE_CALLBACK_PLUGINS=os.path.join(HERE, "callback_plugins"),
                     ANSIBLE_CALLBACKS_ENABLED="record", VG_ANSIBLE_RECORD=record)
        t = time.monotonic()
        p = subprocess.run([PLAYBOOK, "-i", inventory, "-e", "@" + vars_path, *extra,
                            os.path.join(HERE, name)],
                           cwd=tmp, env=e, stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, errors="replace", timeout=240)
        print(f"# ansible-playbook {' '.join(extra)} {name}: "
              f"exit {p.returncode} in {time.monotonic() - t:.1f} s")
        return p

    def show(p):
        print("--- stdout ---\n" + p.stdout[-6000:] + "\n--- stderr ---\n" + p.stderr[-3000:])

    # --- 1. the play, json callback ---------------------------------------
    record = os.path.join(tmp, "record.json")
    a = play("site.yml", record=record)
    if not check(a.returncode == 0, "site.yml passes its asserts"):
        show(a)
    try:
        with open(record) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        doc = {}
        check(False, f"the recorded results ({e})")
    tasks = {t["task"]: dict(t["result"], status=t["status"]) for t in doc.get("tasks", [])}

    three = tasks.get("three VMs", {})
    check(three.get("changed") is True and three.get("status") == "ok", "three VMs: changed, not failed")
    names = [r.get("name") for r in three.get("results", [])]
    check(names == ["web-01", "web-02", "web-03"], f"three VMs: results for web-01..03 ({names})")
    check([r.get("id") for r in three.get("results", [])] == ["vm-42", "vm-43", "vm-44"],
          "three VMs: their ids")
    expect = f"a b 'c'|hello|{out_dir}\n"
    check(all(r.get("stdout") == expect and r.get("rc") == 0 for r in three.get("results", [])),
          "three VMs: each VM's stdout and rc 0 in the callback output")
    try:
        with open(os.path.join(out_dir, "three.json")) as f:
            saved = json.load(f)
        check([(r["name"], r["rc"], r["stdout"], r["stderr_lines"]) for r in saved["results"]] ==
              [(n, 0, expect, ["to-stderr"]) for n in ("web-01", "web-02", "web-03")] and
              saved["rc"] == 0, "three.json written by the play holds the registered results")
    except (OSError, ValueError, KeyError) as e:
        check(False, f"three.json written by the play ({e})")

    nz = tasks.get("a command exiting non-zero on two VMs", {})
    check(nz.get("status") == "ignored" and nz.get("rc") == 3 and "web-01 (vm-42): exit 3" in nz.get("msg", ""),
          "non-zero exit: failed (ignored), rc 3, msg names the VMs")
    chk = tasks.get("check mode runs nothing", {})
    check(chk.get("changed") is True and chk.get("status") == "ok" and
          [v["name"] for v in chk.get("vms", [])] == ["db-01", "web-01", "web-02", "web-03"],
          "check mode: lists the VMs it would run on")
    bg = tasks.get("a wrong guest password", {})
    check(bg.get("status") == "ignored" and "credentials are not valid" in bg.get("msg", ""),
          f"wrong guest password: failed (ignored) with a clear msg ({bg.get('msg')!r})")
    stats = doc.get("stats", {})
    check(stats.get("failures") == 0 and stats.get("ignored") == 7,
          f"seven failures expected and ignored, none other ({stats})")

    # what vguest was called with
    log = ""
    if os.path.exists(argv_log):
        with open(argv_log) as f:
            log = f.read()
    calls = [l[len("argv: "):] for l in log.splitlines() if l.startswith("argv: ")]
    envs = [l[len("env: "):].split() for l in log.splitlines() if l.startswith("env: ")]
    check(any(c.startswith("exec --json --vm web-0[1-3] --timeout 60 --cwd ") for c in calls),
          "vguest exec called with the selection and options")
    check(any(c == "vms --brief --json --vm web-0[1-3] --vm db-01" for c in calls),
          "check mode asked vguest vms --brief")
    check(not any("touch" in c for c in calls), "check mode ran no exec")
    check(bool(envs) and all("VGUEST_PASSWORD" in e and "VGUEST_GUEST_PASSWORD" in e for e in envs),
          "every vguest call got both passwords in its environment")
    check(not os.path.exists(variables["marker"]), "check mode made no marker file")

    # --- 2. the play, -vvv, for the scan ----------------------------------
    b = play("site.yml", "-vvv")
    if not check(b.returncode == 0, "site.yml passes with -vvv"):
        show(b)
    check("VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in b.stdout,
          "-vvv shows the module's arguments, secrets masked")
    check("three VMs" in b.stdout and "web-03" in b.stdout, "-vvv shows the tasks and their results")

    # --- 3. a failure not ignored -----------------------------------------
    c = play("fail.yml")
    check(c.returncode == 2, f"a failing task makes ansible-playbook exit 2 (got {c.returncode})")
    check("web-01 (vm-42): exit 3" in c.stdout and "failed=1" in c.stdout and "reached" not in c.stdout,
          "the failure names the VM and stops the play")
    if problems:
        show(c)

    # --- 4. the README's play, as it is but for where the server is -------
    with open(os.path.join(SRC, "README.md")) as f:
        readme = f.read()
    section = readme[readme.find("\n## Ansible\n"):]
    section = section[:section.find("\n## ", 1)]
    blocks = re.findall(r"```yaml\n(.*?)```", section, re.S)
    ours = [b for b in blocks if "vguest.fleet.vguest_exec:" in b]
    r = None
    if check(len(ours) == 1 and "server: https://vc.example.com\n" in ours[0],
             "the README's Ansible section has the vguest_exec play"):
        text = ours[0].replace("server: https://vc.example.com\n",
                               "server: \"{{ server }}\"\n        ca_file: \"{{ ca_file }}\"\n"
                               "        vguest_bin: \"{{ vguest_bin }}\"\n")
        readme_play = os.path.join(tmp, "readme.yml")
        with open(readme_play, "w") as f:
            f.write(text)
        readme_vars = os.path.join(tmp, "readme-vars.json")
        with open(readme_vars, "w") as f:
            json.dump({"vcenter_password": VC_PASSWORD, "guest_password": GUEST_PASSWORD}, f)
        r = play(readme_play, "-e", "@" + readme_vars)
        said = re.findall(r'"msg": "(web-0[1-3]): [^"]*load average', r.stdout)
        if not check(r.returncode == 0 and said == ["web-01", "web-02", "web-03"],
                     f"the README's play runs and shows each VM's uptime ({said})"):
            show(r)

    # --- 5. the documentation ---------------------------------------------
    d = subprocess.run([ANSIBLE_DOC, "--json", "-t", "module", "vguest.fleet.vguest_exec"],
                       cwd=tmp, env=env, capture_output=True, text=True, timeout=120)
    documented = set()
    try:
        documented = set(json.loads(d.stdout)["vguest.fleet.vguest_exec"]["doc"]["options"])
    except (ValueError, KeyError) as e:
        check(False, f"ansible-doc reads the module's documentation ({e}; {d.stderr[-500:]})")
    with open(MODULE) as f:
        src = f.read()
    spec_body = src[src.index("def argument_spec"):src.index("def number")]
    params = set(re.findall(r"^\s+(\w+)=dict\(", spec_body, re.M))
    check(bool(params) and params == documented,
          f"every parameter documented, nothing else ({sorted(params ^ documented)})")
    check(set(re.findall(r"^\s+(\w+)=dict\(.*no_log=True", spec_body, re.M)) == {"password", "guest_password"},
          "no_log on password and guest_password")

    # --- the scan ---------------------------------------------------------
    with open(record) as f:
        scan("the recorded results", f.read())
    for label, p in (("site.yml", a), ("site.yml (-vvv)", b), ("fail.yml", c), ("README play", r),
                     ("ansible-doc", d)):
        if p is None:
            continue
        scan(label + " stdout", p.stdout)
        scan(label + " stderr", p.stderr)
    scan("argv.log", "\n".join(calls))
    n_files = 0
    for top in (home, out_dir, os.path.join(tmp, "ansible.log")):
        walk = [(os.path.dirname(top), [], [os.path.basename(top)])] if os.path.isfile(top) else os.walk(top)
        for root, _, files in walk:
            for fn in files:
                path = os.path.join(root, fn)
                with open(path, "rb") as f:
                    scan(os.path.relpath(path, tmp), f.read())
                n_files += 1
    check(os.path.getsize(os.path.join(tmp, "ansible.log")) > 0, f"the Ansible log was written ({n_files} files scanned)")
    real_after = os.stat(real_dot).st_mtime_ns if os.path.exists(real_dot) else None
    check(real_after == real_before, f"{real_dot} untouched")
finally:
    stop_sim()

if problems:
    print(f"\n{len(problems)} problem(s); files kept in {tmp}:")
    for p in problems:
        print("  - " + p)
    sys.exit(1)
shutil.rmtree(tmp, ignore_errors=True)
print(f"all checks passed in {time.monotonic() - T0:.1f} s")
