#!/usr/bin/python
# -*- coding: utf-8 -*-
# vguest_exec: run a command in the guests of vSphere VMs through vguest.
# A thin wrapper around `vguest exec --json`: vguest selects the VMs, runs
# the command on all of them at once and prints one JSON object per VM;
# this module turns those into an Ansible result.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: vguest_exec
short_description: Run a command in the guest OS of one or many vSphere VMs and return its output
description:
  - Runs one command through VMware Tools guest operations in every VM that
    matches a selection (names, shell-style patterns such as C(web-*) or
    C(db-0[1-3]), VM ids, folders, clusters, ...), all VMs at once, and
    returns each VM's exit code, standard output and standard error.
  - No network connection to the guests is needed; only the vCenter is
    contacted. It calls the C(vguest) program (C(vguest exec --json)),
    which must be installed on the host that runs the module (usually the
    controller, with C(connection=local) or C(delegate_to=localhost)).
  - Secrets (I(password), I(guest_password)) reach vguest through its
    environment, never its command line, and are never logged.
  - Settings not given here come from vguest's own C(VGUEST_*) environment
    variables and its config file profiles, as for the command line.
  - Like M(ansible.builtin.command), the task fails when the command exits
    non-zero on any VM, or cannot be run on one (VM powered off, VMware
    Tools not running, bad guest credentials, timeout).
version_added: "0.1.0"
author:
  - vguest developers
requirements:
  - vguest (the C(vguest) program) on the host that runs the module
options:
  vm:
    description:
      - VM names, shell-style patterns (C(*), C(?), C([a-z]), C([!x])) or
        VM ids (C(vm-42)). A VM matches when any of them matches.
      - One of I(vm), I(folder), I(datacenter), I(cluster), I(host),
        I(resource_pool) or I(power_state) is required.
    type: list
    elements: str
    aliases: [ vms ]
  folder:
    description: VMs in these folders, at any depth (by name or id).
    type: list
    elements: str
  datacenter:
    description: VMs in these datacenters (by name or id).
    type: list
    elements: str
  cluster:
    description: VMs in these clusters (by name or id).
    type: list
    elements: str
  host:
    description: VMs on these ESXi hosts (by name or id).
    type: list
    elements: str
  resource_pool:
    description: VMs in these resource pools (by name or id).
    type: list
    elements: str
  power_state:
    description:
      - Only VMs in this power state. A VM that is not powered on is
        reported as failed, since no command can start in it.
    type: str
    choices: [ POWERED_ON, POWERED_OFF, SUSPENDED ]
  argv:
    description:
      - The program and its arguments, each passed as it is (vguest quotes
        them for the guest). Exactly one of I(argv) and I(cmd) is required.
    type: list
    elements: str
  cmd:
    description:
      - A command line for the guest's shell (C(sh -c) on Linux, C(cmd.exe /c)
        on Windows), passed untouched, like M(ansible.builtin.shell).
    type: str
  cwd:
    description: The command's working directory in the guest.
    type: str
  env:
    description:
      - Environment variables for the command in the guest.
      - They are passed to vguest on its command line; put no secret here.
    type: dict
  timeout:
    description:
      - Seconds after which a command still running is stopped; it then
        fails on that VM (C(kind=timed_out)).
    type: float
  limit:
    description: At most this many VMs at a time (vguest's default is 64).
    type: int
  os:
    description:
      - C(linux) or C(windows), how to quote I(argv) for the guest. By
        default each VM is asked.
    type: str
    choices: [ linux, windows ]
  server:
    description:
      - The vCenter URL (C(https://vc.example.com)). Else C(VGUEST_SERVER),
        else the profile.
    type: str
  user:
    description: The vCenter user. Else C(VGUEST_USER), else the profile.
    type: str
  password:
    description:
      - The vCenter password. Else C(VGUEST_PASSWORD), else the profile.
      - Handed to vguest in its environment; never logged.
    type: str
  protocol:
    description:
      - Which vCenter API to speak; C(auto) tries C(api), C(vim25), then C(rest).
      - Output capture needs C(api) or C(vim25).
    type: str
    choices: [ auto, api, rest, vim25 ]
  profile:
    description: The profile of vguest's config file to use (else C(VGUEST_PROFILE) or its default).
    type: str
  ca_file:
    description:
      - A PEM file of the CA that signed the vCenter's certificate (and the ESXi
        hosts', for the output transfers).
    type: path
  thumbprint:
    description:
      - Pin the vCenter's certificate by its SHA-256 (or SHA-1) fingerprint
        (C(vguest thumbprint URL) prints it).
    type: str
  validate_certs:
    description:
      - When C(false), neither the vCenter's certificate nor those of the ESXi
        hosts that serve the output transfers are checked (not advised; prefer
        I(ca_file) or I(thumbprint)). Unset, vguest's own settings apply
        (C(VGUEST_INSECURE), C(VGUEST_INSECURE_TRANSFERS), the profile).
    type: bool
  guest_user:
    description: The guest account. Else C(VGUEST_GUEST_USER), else the profile.
    type: str
  guest_password:
    description:
      - The guest account's password. Else C(VGUEST_GUEST_PASSWORD), else the profile.
      - Handed to vguest in its environment; never logged.
    type: str
  vguest_bin:
    description: The vguest program, a name looked up in C(PATH) or a path.
    type: str
    default: vguest
attributes:
  check_mode:
    support: full
    details:
      - Runs nothing; lists the VMs the command would run on (C(vguest vms --brief)).
      - It warns about a VM that is not powered on; whether VMware Tools run in
        a VM, and the guest credentials, are not checked.
  diff_mode:
    support: none
notes:
  - The result's top-level I(rc), I(stdout) and I(stderr) are those of one
    VM; see RETURN for which. Every VM's are in I(results).
  - I(results) is sorted by VM name, then id.
seealso:
  - name: vguest exec
    description: The command this module wraps (C(man vguest)).
"""

EXAMPLES = r"""
- name: Uptime of three web servers, registered
  vguest.fleet.vguest_exec:
    vm: "web-0[1-3]"
    argv: [uptime]
    server: https://vc.example.com
    user: administrator@vsphere.local
    password: "{{ vcenter_password }}"
    guest_user: root
    guest_password: "{{ guest_password }}"
  delegate_to: localhost
  register: up

- name: Show each VM's output
  ansible.builtin.debug:
    msg: "{{ item.name }}: {{ item.stdout | trim }}"
  loop: "{{ up.results }}"

- name: A shell line in every powered-on VM of a folder, 10 at a time
  vguest.fleet.vguest_exec:
    folder: web
    power_state: POWERED_ON
    cmd: "df -h / | tail -1"
    limit: 10
    timeout: 60
  delegate_to: localhost

- name: Settings from the environment or vguest's config file profile
  vguest.fleet.vguest_exec:
    vm: [db-01, db-02]
    argv: [systemctl, is-active, postgresql]
    profile: lab
  environment:
    VGUEST_GUEST_PASSWORD: "{{ guest_password }}"
  delegate_to: localhost
  register: pg
  failed_when: false

- name: Which VMs would run it (nothing runs)
  vguest.fleet.vguest_exec:
    vm: "web-*"
    argv: [reboot]
  check_mode: true
  register: would
"""

RETURN = r"""
rc:
  description:
    - 0 when the command exited 0 on every VM. Otherwise the exit code of
      the first failing VM (in I(results) order), or 1 when that VM
      failed without an exit code (see its I(error)).
  returned: always
  type: int
  sample: 0
stdout:
  description:
    - With one VM, its standard output. With several, that of the first
      failing VM, else of the first VM (in I(results) order).
  returned: always
  type: str
  sample: "Linux web-01 6.1.0-27-amd64\n"
stderr:
  description: Standard error of the same VM as I(stdout).
  returned: always
  type: str
stdout_lines:
  description: I(stdout) split into lines.
  returned: always
  type: list
  elements: str
stderr_lines:
  description: I(stderr) split into lines.
  returned: always
  type: list
  elements: str
cmd:
  description: The command, as given (I(argv) or I(cmd)).
  returned: always
  type: raw
  sample: [uptime]
failed_vms:
  description: Names of the VMs where the command failed or exited non-zero.
  returned: always
  type: list
  elements: str
  sample: [web-02]
vms:
  description: In check mode, the VMs that the command would run on (name, id, power_state).
  returned: check mode
  type: list
  elements: dict
results:
  description: One entry per selected VM, sorted by name then id. Empty in check mode.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The VM's name.
      type: str
      sample: web-01
    id:
      description: The VM's id.
      type: str
      sample: vm-42
    rc:
      description: The command's exit code; null when it did not run or did not finish.
      type: int
    failed:
      description: True when the command could not run, did not finish or exited non-zero.
      type: bool
    stdout:
      description: Its standard output (bytes that are not UTF-8 replaced; see I(stdout_lossy)).
      type: str
    stderr:
      description: Its standard error.
      type: str
    stdout_lines:
      description: I(stdout) split into lines.
      type: list
      elements: str
    stderr_lines:
      description: I(stderr) split into lines.
      type: list
      elements: str
    stdout_lossy:
      description: True when the output was not UTF-8 and bad bytes were replaced.
      type: bool
      returned: when the output was not valid UTF-8
    stderr_lossy:
      description: The same for I(stderr).
      type: bool
      returned: when standard error was not valid UTF-8
    error:
      description: Why the command failed in this VM without an exit code (null otherwise).
      type: str
      sample: the VM is powered off; guest operations need it powered on
    kind:
      description:
        - The error's kind (C(unauthenticated), C(timed_out),
          C(not_allowed_in_current_state), C(service_unavailable), ...).
      type: str
    pid:
      description: The guest process id.
      type: int
    started:
      description: When the process started (RFC 3339, UTC).
      type: str
    finished:
      description: When it finished.
      type: str
msg:
  description: vguest's summary line, or why the task failed (naming the VMs).
  returned: always
  type: str
  sample: "3 VMs: 3 ok in 0.4 s"
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

# selection options: module parameter -> vguest option (each repeatable)
SELECTION = (
    ("vm", "--vm"),
    ("folder", "--folder"),
    ("datacenter", "--datacenter"),
    ("cluster", "--cluster"),
    ("host", "--host"),
    ("resource_pool", "--resource-pool"),
)

# connection settings: module parameter -> vguest environment variable.
# All go through the environment (the secrets must; the rest follow so
# that a URL with a password in it never reaches a command line either).
ENVIRONMENT = (
    ("server", "VGUEST_SERVER"),
    ("user", "VGUEST_USER"),
    ("password", "VGUEST_PASSWORD"),
    ("protocol", "VGUEST_PROTOCOL"),
    ("profile", "VGUEST_PROFILE"),
    ("ca_file", "VGUEST_CA_FILE"),
    ("thumbprint", "VGUEST_THUMBPRINT"),
    ("guest_user", "VGUEST_GUEST_USER"),
    ("guest_password", "VGUEST_GUEST_PASSWORD"),
)


def argument_spec():
    lst = dict(type="list", elements="str")
    return dict(
        vm=dict(lst, aliases=["vms"]),
        folder=dict(lst),
        datacenter=dict(lst),
        cluster=dict(lst),
        host=dict(lst),
        resource_pool=dict(lst),
        power_state=dict(type="str", choices=["POWERED_ON", "POWERED_OFF", "SUSPENDED"]),
        argv=dict(lst),
        cmd=dict(type="str"),
        cwd=dict(type="str"),
        env=dict(type="dict"),
        timeout=dict(type="float"),
        limit=dict(type="int"),
        os=dict(type="str", choices=["linux", "windows"]),
        server=dict(type="str"),
        user=dict(type="str"),
        password=dict(type="str", no_log=True),
        protocol=dict(type="str", choices=["auto", "api", "rest", "vim25"]),
        profile=dict(type="str"),
        ca_file=dict(type="path"),
        thumbprint=dict(type="str"),
        validate_certs=dict(type="bool"),
        guest_user=dict(type="str"),
        guest_password=dict(type="str", no_log=True),
        vguest_bin=dict(type="str", default="vguest"),
    )


def number(v):
    """1.0 -> '1', 1.5 -> '1.5'"""
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def selection_args(p):
    args = []
    for key, opt in SELECTION:
        for value in p[key] or []:
            args += [opt, value]
    if p["power_state"]:
        args += ["--power-state", p["power_state"]]
    return args


def environment(p):
    env = {}
    for key, var in ENVIRONMENT:
        # empty counts as not given, as for vguest's own variables
        if p[key] not in (None, ""):
            env[var] = p[key]
    if p["validate_certs"] is not None:
        # the vCenter's certificate and the ESXi hosts' (output transfers)
        env["VGUEST_INSECURE"] = env["VGUEST_INSECURE_TRANSFERS"] = "0" if p["validate_certs"] else "1"
    return env


def find_vguest(module):
    b = module.params["vguest_bin"]
    if "/" in b:
        if os.path.isfile(b) and os.access(b, os.X_OK):
            return b
        module.fail_json(msg="vguest_bin %s is not an executable file" % b)
    found = module.get_bin_path(b)
    if not found:
        module.fail_json(msg="%s not found in PATH: install vguest or set vguest_bin to its path" % b)
    return found


def run_vguest(module, args, env):
    # data: standard input is a pipe, never a terminal (a become with a
    # pty could give one), so vguest never waits for a password prompt
    rc, out, err = module.run_command(args, environ_update=env, data=" ", binary_data=True,
                                      errors="surrogate_or_replace")
    return rc, out, err


def json_lines(module, out, what):
    objs = []
    for line in out.splitlines():
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            module.fail_json(msg="unexpected output from %s: %s" % (what, line[:200]))
        if isinstance(obj, dict) and "name" in obj:
            objs.append(obj)
    return objs


def summary(err):
    """vguest's last stderr line, without its 'vguest: ' prefix"""
    lines = [l for l in err.splitlines() if l.strip()]
    if not lines:
        return ""
    last = lines[-1]
    return last[len("vguest: "):] if last.startswith("vguest: ") else last


def vm_result(o):
    rc = o.get("exit_code")
    r = dict(
        name=o.get("name"),
        id=o.get("id"),
        rc=rc,
        stdout=o.get("stdout") or "",
        stderr=o.get("stderr") or "",
        error=o.get("error"),
        kind=o.get("kind"),
        pid=o.get("pid"),
        started=o.get("started"),
        finished=o.get("finished"),
    )
    r["stdout_lines"] = r["stdout"].splitlines()
    r["stderr_lines"] = r["stderr"].splitlines()
    for k in ("stdout_lossy", "stderr_lossy"):
        if o.get(k):
            r[k] = True
    r["failed"] = bool(r["error"]) or rc != 0
    return r


def why(r):
    if r["error"]:
        return "%s (%s): %s" % (r["name"], r["id"], r["error"])
    return "%s (%s): exit %s" % (r["name"], r["id"], r["rc"])


def check_mode(module, vguest, sel, env):
    args = [vguest, "vms", "--brief", "--json"] + sel
    rc, out, err = run_vguest(module, args, env)
    vms = sorted(json_lines(module, out, "vguest vms"), key=lambda v: (v.get("name") or "", v.get("id") or ""))
    if rc != 0 or not vms:
        module.fail_json(msg=err.strip() or "vguest vms exited %d" % rc, rc=rc, stderr=err, results=[], vms=vms)
    off = [v for v in vms if v.get("power_state") != "POWERED_ON"]
    for v in off:
        module.warn("%s (%s) is %s: the command would fail there" % (v["name"], v["id"], v.get("power_state")))
    module.exit_json(changed=True, rc=0, stdout="", stderr="", stdout_lines=[], stderr_lines=[],
                     results=[], failed_vms=[], vms=vms, cmd=module.params["argv"] or module.params["cmd"],
                     msg="check mode: would run on %d VM%s: %s" % (
                         len(vms), "" if len(vms) == 1 else "s", ", ".join(v["name"] for v in vms)))


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        mutually_exclusive=[("argv", "cmd")],
        required_one_of=[("argv", "cmd"),
                         ("vm", "folder", "datacenter", "cluster", "host", "resource_pool", "power_state")],
        supports_check_mode=True,
    )
    p = module.params
    if p["argv"] is not None and len(p["argv"]) == 0:
        module.fail_json(msg="argv is empty: give the program to run")
    if p["limit"] is not None and p["limit"] < 1:
        module.fail_json(msg="limit must be a positive integer, got %d" % p["limit"])
    if p["timeout"] is not None and p["timeout"] <= 0:
        module.fail_json(msg="timeout must be a positive number of seconds")

    vguest = find_vguest(module)
    sel = selection_args(p)
    env = environment(p)
    command = p["argv"] if p["argv"] is not None else p["cmd"]

    if module.check_mode:
        check_mode(module, vguest, sel, env)

    args = [vguest, "exec", "--json"] + sel
    if p["limit"] is not None:
        args += ["--limit", str(p["limit"])]
    if p["timeout"] is not None:
        args += ["--timeout", number(p["timeout"])]
    if p["cwd"] is not None:
        args += ["--cwd", p["cwd"]]
    if p["os"] is not None:
        args += ["--os", p["os"]]
    for k, v in sorted((p["env"] or {}).items()):
        args += ["--env", "%s=%s" % (k, to_native(v))]
    if p["argv"] is not None:
        args += ["--"] + p["argv"]
    else:
        args += ["--shell", p["cmd"]]

    rc, out, err = run_vguest(module, args, env)
    results = sorted((vm_result(o) for o in json_lines(module, out, "vguest exec")),
                     key=lambda r: (r["name"] or "", r["id"] or ""))
    if not results:
        # nothing ran: a usage error, no VM matched, the login failed
        module.fail_json(msg=err.strip() or "vguest exec exited %d" % rc, rc=rc if rc else 1,
                         stdout="", stderr=err, stdout_lines=[], stderr_lines=err.splitlines(),
                         results=[], failed_vms=[], cmd=command, changed=False)

    failed = [r for r in results if r["failed"]]
    first = failed[0] if failed else results[0]
    res = dict(
        changed=any(r["pid"] is not None for r in results),
        rc=0 if not failed else (first["rc"] if first["rc"] not in (None, 0) else 1),
        stdout=first["stdout"],
        stderr=first["stderr"],
        stdout_lines=first["stdout_lines"],
        stderr_lines=first["stderr_lines"],
        results=results,
        failed_vms=[r["name"] for r in failed],
        cmd=command,
    )
    if failed:
        module.fail_json(msg="failed on %d of %d VM%s: %s" % (
            len(failed), len(results), "" if len(results) == 1 else "s", "; ".join(why(r) for r in failed)), **res)
    if rc != 0:
        # every VM reported success, yet vguest did not: say what it said
        module.fail_json(msg=err.strip() or "vguest exec exited %d" % rc, **res)
    module.exit_json(msg=summary(err), **res)


if __name__ == "__main__":
    main()
