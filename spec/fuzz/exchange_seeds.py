#!/usr/bin/env python3
"""Makes the seed corpus of fuzz_exchange (spec/fuzz/corpus_exchange/).

For every flavour and call of fuzz_exchange.lua, it asks the target which
requests the call makes (FUZZ_EXCHANGE_LOG=1), replays each of them
against a vguest-sim started here on a free loopback port, and writes the
simulator's raw answers (status line, headers, body) as a seed, one
answer per request, step after step; then a few hand-made answers that
stress the HTTP layer (chunked, truncated, NUL bytes, huge headers, no
length, HTTP/1.0, an expired session).

  spec/fuzz/exchange_seeds.py build-fuzz/spec/fuzz/fuzz_exchange \\
      build/sim/vguest-sim sim/inventory.json spec/fuzz/corpus_exchange

The simulator's guest is this machine: the calls touch only
/tmp/vguest-fuzz-* and a process they start.
"""
import base64
import json
import os
import socket
import ssl
import subprocess
import sys
import tempfile

SEP = b"\0\xffNEXT\xff\0"
FLAVOURS = ["api", "rest", "vim25"]
NCALLS = 17
LOGIN, LOGOUT = NCALLS - 1, NCALLS - 2
CANNED = ("/api/session", "/rest/com/vmware/cis/session",
          "/ServiceInstance/ServiceInstance/content",
          "/SessionManager/SessionManager/Login",
          "/SessionManager/SessionManager/Logout",
          "/guestOperationsManager/processManager",
          "/guestOperationsManager/fileManager")
PROBE = b"HTTP/1.1 599 Probe\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
USER, PASSWORD = "administrator@vsphere.local", "VMware1!"


def requests_of(target, f, c, answers):
    """The requests the call makes when answered with answers, then PROBE."""
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "in")
        with open(p, "wb") as fh:
            fh.write(bytes([f, c]) + SEP.join(answers + [PROBE]))
        out = subprocess.run([target, "-runs=1", p], env=dict(os.environ, FUZZ_EXCHANGE_LOG="1"),
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120).stderr
    reqs = []
    for line in out.decode("latin-1").splitlines():
        if line.startswith("request: "):
            method, path, body = (line[9:].split(" ", 2) + [""])[:3]
            canned = any(x in path for x in CANNED)
            if c in (LOGOUT, LOGIN) and any(x in path for x in CANNED[:6]):
                # the session's own requests, fuzzed then (the logout's
                # login before it is canned: it logs no new request)
                canned = c == LOGOUT and not (method == "DELETE" or "/Logout" in path)
            if not canned and (not reqs or reqs[-1] != (method, path, body)):
                reqs.append((method, path, body))
    return reqs


class Sim:
    def __init__(self, binary, inventory):
        self.p = subprocess.Popen([binary, "--port", "0", "--lifetime", "600", "--inventory", inventory],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        ready = json.loads(self.p.stdout.readline())
        self.host, self.port = ready["url"][len("https://"):].split(":")
        self.ctx = ssl.create_default_context(cafile=ready["ca_file"])
        self.tokens = {}

    def raw(self, method, path, body, headers):
        req = ["%s %s HTTP/1.1" % (method, path), "Host: %s:%s" % (self.host, self.port),
               "Content-Type: application/json", "Connection: close",
               "Content-Length: %d" % len(body)] + headers
        data = ("\r\n".join(req) + "\r\n\r\n").encode() + body
        with socket.create_connection((self.host, int(self.port))) as s:
            with self.ctx.wrap_socket(s, server_hostname=self.host) as t:
                t.sendall(data)
                out = b""
                while True:
                    b = t.recv(65536)
                    if not b:
                        return out
                    out += b

    def token(self, flavour):
        if flavour not in self.tokens:
            basic = "Authorization: Basic " + base64.b64encode(("%s:%s" % (USER, PASSWORD)).encode()).decode()
            if flavour == "api":
                a = self.raw("POST", "/api/session", b"", [basic])
                self.tokens[flavour] = json.loads(a.split(b"\r\n\r\n", 1)[1])
            elif flavour == "rest":
                a = self.raw("POST", "/rest/com/vmware/cis/session", b"", [basic])
                self.tokens[flavour] = json.loads(a.split(b"\r\n\r\n", 1)[1])["value"]
            else:
                body = json.dumps({"userName": USER, "password": PASSWORD}).encode()
                a = self.raw("POST", "/sdk/vim25/8.0.2.0/SessionManager/SessionManager/Login", body, [])
                head = a.split(b"\r\n\r\n", 1)[0].decode()
                self.tokens[flavour] = [l.split(":", 1)[1].strip() for l in head.split("\r\n")
                                        if l.lower().startswith("vmware-api-session-id:")][0]
        return self.tokens[flavour]

    def answer(self, flavour, method, path, body, login):
        headers = []
        if login and flavour != "vim25" and method == "POST":
            headers.append("Authorization: Basic " + base64.b64encode(("%s:%s" % (USER, PASSWORD)).encode()).decode())
        elif not (login and flavour == "vim25" and ("/content" in path or "/Login" in path)):
            headers.append("vmware-api-session-id: " + self.token(flavour))
        return self.raw(method, path, body.encode(), headers)

    def stop(self):
        self.p.kill()


def hand_made():
    """Answers for the HTTP layer: (name, flavour, call, answers)."""
    js = b'[{"name":"sh","pid":7,"owner":"root","command":"/bin/sh","started":"2026-11-23T04:00:00.000Z"}]'
    chunked = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" + \
        b"".join(b"%x\r\n%s\r\n" % (len(js[i:i + 20]), js[i:i + 20]) for i in range(0, len(js), 20)) + b"0\r\n\r\n"
    ok = lambda body, extra=b"": b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + extra + \
        b"Content-Length: %d\r\n\r\n" % len(body) + body
    return [
        ("api_list_chunked", 0, 4, [chunked]),
        ("api_list_truncated", 0, 4, [ok(js)[:-20]]),
        ("api_list_short_length", 0, 4, [ok(js).replace(b"Content-Length: %d" % len(js), b"Content-Length: 9999")]),
        ("api_list_no_length", 0, 4, [b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n" + js]),
        ("api_list_nul", 0, 4, [ok(js.replace(b'"sh"', b'"s\\u0000h"').replace(b"/bin/sh", b"/bin\0sh"))]),
        ("api_list_big_header", 0, 4, [ok(js, b"X-Big: " + b"a" * 70000 + b"\r\n")]),
        ("api_list_continue", 0, 4, [b"HTTP/1.1 100 Continue\r\n\r\n" + ok(js)]),
        ("api_get_expired", 0, 3, [b"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: 65\r\n\r\n"
                                   b'{"error_type":"UNAUTHENTICATED","messages":[],"data":null}      ',
                                   ok(b'{"name":"sh","owner":"root","command":"/bin/sh","started":"2026-11-23T04:00:00.000Z"}')]),
        ("api_delete_204", 0, 6, [b"HTTP/1.1 204 No Content\r\n\r\n"]),
        ("rest_list_gzip_lie", 1, 4, [ok(b'{"value":' + js + b"}", b"Content-Encoding: gzip\r\n")]),
        ("vim_list_fault", 2, 4, [b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: 80\r\n\r\n"
                                  b'{"_typeName":"GuestOperationsUnavailable","faultMessage":[]}                    ']),
        ("garbage", 0, 0, [b"\0\0\0\xff garbage \r\n\r\n"]),
        ("empty", 1, 7, [b""]),
    ]


def main():
    target, binary, inventory, out = sys.argv[1:5]
    os.makedirs(out, exist_ok=True)
    os.makedirs("/tmp/vguest-fuzz-d", exist_ok=True)
    for n in ("a", "b"):
        open("/tmp/vguest-fuzz-d/" + n, "w").write(n)
    open("/tmp/vguest-fuzz-x", "w").write("x")
    sim = Sim(binary, inventory)
    try:
        for f, flavour in enumerate(FLAVOURS):
            for c in range(NCALLS):
                answers = []
                for _ in range(6):
                    reqs = requests_of(target, f, c, answers)
                    if len(reqs) <= len(answers):
                        break
                    m, p, b = reqs[len(answers)]
                    answers.append(sim.answer(flavour, m, p, b, c == LOGIN))
                    if c == LOGOUT:
                        sim.tokens.pop(flavour, None)  # logged out
                    if c in (13, 14):  # mkdir, remove: keep the directory around
                        os.makedirs("/tmp/vguest-fuzz-d", exist_ok=True)
                if answers:
                    with open(os.path.join(out, "%s_%02d" % (flavour, c)), "wb") as fh:
                        fh.write(bytes([f, c]) + SEP.join(answers))
        for name, f, c, answers in hand_made():
            with open(os.path.join(out, name), "wb") as fh:
                fh.write(bytes([f, c]) + SEP.join(answers))
    finally:
        sim.stop()


if __name__ == "__main__":
    main()
