#!/usr/bin/env python3
"""Drives `vguest` on a pseudo-terminal for the REPL specs (repl_tty_spec.lua).

  pty_drive.py SCRIPT_JSON

SCRIPT_JSON names a file holding {"argv": [...], "env": {...}, "steps": [...]}.
Each step is one of
  {"send": "text"}             type text (escapes as in JSON: "\\t", "\\u0003")
  {"expect": "text"}           wait until the output since the last expect
                               holds text (fails after a generous deadline,
                               which only a hang reaches: never a timing check)
  {"signal": "INT"}            send a signal to the process (as Ctrl-C would
                               when the terminal's ISIG is off)
  {"wait_exit": true}          wait for the process to exit
Prints one JSON object: {"ok": bool, "output": "...", "status": int|null,
"error": "..."}. Several processes ("name" on a step, "spawn" to start one)
can run interleaved: {"spawn": "a", "argv": [...], "env": {...}}.
"""
import json
import os
import pty
import select
import signal
import sys
import time

DEADLINE = 60  # seconds: reached only when something hangs


class Proc:
    def __init__(self, argv, env):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            try:
                os.execvpe(argv[0], argv, env)
            finally:
                os._exit(127)
        self.out = b""
        self.mark = 0
        self.status = None

    def pump(self, t):
        r, _, _ = select.select([self.fd], [], [], t)
        if r:
            try:
                data = os.read(self.fd, 65536)
            except OSError:
                data = b""
            if not data:
                return False
            self.out += data
        return True

    def expect(self, text):
        want = text.encode()
        end = time.monotonic() + DEADLINE
        while time.monotonic() < end:
            at = self.out.find(want, self.mark)
            if at >= 0:
                self.mark = at + len(want)
                return True
            if not self.pump(0.2) and self.poll_exit():
                at = self.out.find(want, self.mark)
                if at >= 0:
                    self.mark = at + len(want)
                    return True
                return False
        return False

    def poll_exit(self):
        if self.status is None:
            pid, st = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(st)
        return self.status is not None

    def wait_exit(self):
        end = time.monotonic() + DEADLINE
        while time.monotonic() < end:
            self.pump(0.1)
            if self.poll_exit():
                while self.pump(0):
                    pass
                return True
        return False


def main():
    with open(sys.argv[1]) as f:
        script = json.load(f)
    env = dict(os.environ)
    env.update(script.get("env", {}))
    env.setdefault("TERM", "xterm")
    procs = {}
    if "argv" in script:
        procs["main"] = Proc(script["argv"], env)
    result = {"ok": True, "error": ""}
    try:
        for step in script["steps"]:
            if "spawn" in step:
                e = dict(env)
                e.update(step.get("env", {}))
                procs[step["spawn"]] = Proc(step["argv"], e)
                continue
            p = procs[step.get("name", "main")]
            if "send" in step:
                os.write(p.fd, step["send"].encode())
            elif "expect" in step:
                if not p.expect(step["expect"]):
                    raise RuntimeError("never saw %r" % step["expect"])
            elif "signal" in step:
                os.kill(p.pid, getattr(signal, "SIG" + step["signal"]))
            elif "wait_exit" in step:
                if not p.wait_exit():
                    raise RuntimeError("did not exit")
    except Exception as e:  # reported, the spec fails with the output
        result["ok"] = False
        result["error"] = str(e)
    for name, p in procs.items():
        if p.status is None:
            p.poll_exit()
        if p.status is None:
            os.kill(p.pid, signal.SIGKILL)
            os.waitpid(p.pid, 0)
        result.setdefault("outputs", {})[name] = p.out.decode("utf-8", "replace")
        result.setdefault("statuses", {})[name] = p.status
    result["output"] = result["outputs"].get("main", "")
    result["status"] = result["statuses"].get("main")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
