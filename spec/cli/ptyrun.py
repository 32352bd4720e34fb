#!/usr/bin/env python3
"""Runs a command on a pseudo-terminal (its stdin, stdout and stderr, and
its controlling terminal), answering prompts: each ANSWER is written once
the output so far contains its PROMPT. Prints the output (with the pty's
CR/LF turned into LF), then a last line "exit N".

usage: ptyrun.py TIMEOUT [PROMPT ANSWER]... -- COMMAND [ARGS...]
An ANSWER of ^C sends Ctrl-C, ^D sends Ctrl-D."""
import os, pty, select, sys, time

def main():
    args = sys.argv[1:]
    timeout = float(args.pop(0))
    pairs = []
    while args and args[0] != "--":
        pairs.append((args.pop(0), args.pop(0)))
    args.pop(0)
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(args[0], args)
    out = b""
    deadline = time.monotonic() + timeout
    while True:
        if pairs and pairs[0][0].encode() in out:
            answer = pairs.pop(0)[1]
            data = {"^C": b"\x03", "^D": b"\x04"}.get(answer, answer.encode() + b"\r")
            os.write(fd, data)
        left = deadline - time.monotonic()
        if left <= 0:
            os.kill(pid, 9)
            break
        r, _, _ = select.select([fd], [], [], min(left, 0.1))
        if r:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    sys.stdout.write(out.decode("utf-8", "replace").replace("\r\n", "\n"))
    sys.stdout.write("\nexit %d\n" % (code if code >= 0 else 128 - code))

main()
