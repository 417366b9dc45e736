#!/usr/bin/env python3
"""Integration driver for rcpud (Python 3 standard library only).

Starts build/bin/rcpud on 127.0.0.1 port 0, reads the bound port from its first stdout line
("rcpud listening on HOST:PORT"), and runs one scenario against it:

  faults      garbage, truncated, absurdly sized, wrong-magic, wrong-version, wrong-hash frames and
              malformed requests: each gets an ERROR reply or a closed connection, an ERROR for a
              well-framed bad request leaves that connection usable, and a well-behaved client
              still gets correct results afterwards
  concurrent  several client processes x threads doing real dgemm/zherk/dtrsm at once; then
              SIGTERM, a clean exit and per-op counters in the log
  kill        SIGKILL the server in the middle of a large call: the call fails, C is unchanged
  refused     no server: the client reports "unavailable" quickly, then at once (back-off)
  limits      --max-request-bytes and --max-sessions produce ERROR replies, not deaths
  flood       per-client limits: a client with its own key is refused over its memory, calls in
              flight, device share and sessions (ERROR replies, memory bounded, refused calls
              computed locally), while another client is served throughout (rcpud's counters)
  multidev    placement over several devices (3 virtual CPU devices, one emulated slower): results
              right, every device ran pieces (rcpud's shutdown log)
  auth        the shared-key handshake: no key, unknown key, wrong key, replayed and truncated
              handshakes are refused before anything is allocated (counters, memory), a JOIN under
              another client's identity is refused, a client with a bad key computes locally, a
              client refuses a server that cannot prove the key, and good clients are served throughout

  slow        peers that trickle the handshake a byte at a time are dropped at the handshake time-out
              (not kept alive by each byte), sessions silent between requests are closed at the idle
              time-out so they cannot hold every slot, and a client whose pooled connection was
              closed that way simply opens a new one

  munge       rcpud --auth munge with the test's own munged (throw-away MUNGE key): a client with
              RCPU_AUTH=munge is served; a credential from another site's munged, a replayed one,
              one made for another handshake, and a client with no MUNGE are refused; a uid outside
              --allow-uid/--allow-gid is refused, one listed by name is served; exit 77
              (skipped) where munged or libmunge is missing

Servers use the shared key of RCPU_KEY_FILE (the build's throw-away test key).

Every process started here is reaped with a time-out.
"""
import argparse
import hashlib
import hmac
import json
import os
import random
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from munge_site import Munged, available as munge_available  # noqa: E402

HDR = struct.Struct("<4sHHQIIQ")
HELLO, HELLO_OK, REQUEST, RESPONSE, DATA, ERROR, BYE, TILE, JOIN, AUTH_CHALLENGE, AUTH_PROOF = range(1, 12)
PROTOCOL_VERSION = 2
AUTH_NONE, AUTH_SHARED_KEY, AUTH_MUNGE = 0, 1, 2
FLAG_TILED = 2
ERR_BAD_FRAME, ERR_VERSION, ERR_OPCODE_TABLE, ERR_AUTH, ERR_BAD_REQUEST, ERR_OVER_LIMIT = 1, 2, 3, 4, 5, 6
ERR_BUSY = 9
FLAG_CLOSING = 1
# How long a client program may take, as a multiple of the normal allowance: the sanitizer run of
# scripts/test.sh runs every program several times slower (RCPU_TEST_TIME_SCALE=4). Only waits for
# programs to finish scale; nothing the server is tested on (its time-outs) does.
TIME_SCALE = float(os.environ.get("RCPU_TEST_TIME_SCALE", "1"))
DGEMM, SGEMM, DSYRK = 0x0102, 0x0101, 0x0132


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)
    print("  ok:", what, flush=True)


# ---------------------------------------------------------------- processes

class Server:
    # RCPU_ITEST_BACKEND=cuda runs the scenarios against the CUDA backend (on the GPU machine:
    # `RCPU_ITEST_BACKEND=cuda python3 tests/integration/driver.py --bin-dir build-gpu/bin tiled`).
    def __init__(self, bin_dir, *extra, backend=os.environ.get("RCPU_ITEST_BACKEND", "cpu"), env=None):
        self.log = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(
            [os.path.join(bin_dir, "rcpud"), "--listen", "127.0.0.1:0", "--backend", backend, *extra],
            stdout=subprocess.PIPE, stderr=self.log, text=True, env=env)
        line = self._first_line(10)
        prefix = "rcpud listening on "
        if not line.startswith(prefix):
            self.stop()
            raise Failure("unexpected first line from rcpud: %r; log:\n%s" % (line, self.stderr()))
        self.endpoint = line[len(prefix):].strip()
        self.port = int(self.endpoint.rsplit(":", 1)[1])
        check(self.port != 0, "rcpud reports its bound port (%s)" % self.endpoint)

    def _first_line(self, timeout):
        result = []
        reader = threading.Thread(target=lambda: result.append(self.proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        if not result:
            self.stop()
            raise Failure("rcpud printed no first line within %ss" % timeout)
        return result[0]

    def alive(self):
        return self.proc.poll() is None

    def stderr(self):
        self.log.seek(0)
        return self.log.read()

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Sends `sig` and reaps; SIGKILL if it does not go in time. Returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                raise Failure("rcpud did not stop within %ss of signal %d" % (timeout, sig))
        return self.proc.returncode


def run_client(bin_dir, env_server, *args, timeout=45):
    env = dict(os.environ)
    if env_server is None:
        env.pop("RCPU_SERVER", None)
    else:
        env["RCPU_SERVER"] = env_server
    return subprocess.run([os.path.join(bin_dir, "rcpu_itest_client"), *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=timeout * TIME_SCALE)


# ---------------------------------------------------------------- raw protocol

def frame(kind, payload=b"", rid=0, opcode=0, flags=0, version=PROTOCOL_VERSION, magic=b"RCPU", length=None):
    return HDR.pack(magic, version, kind, rid, opcode, flags, len(payload) if length is None else length) + payload


def blob(b):
    return struct.pack("<I", len(b)) + b


def hello_payload(table_hash, version=PROTOCOL_VERSION, auth_method=AUTH_NONE, auth=b"", instance=None):
    instance = os.urandom(16) if instance is None else instance
    return struct.pack("<IQQH", version, table_hash, 1, auth_method) + blob(auth) + blob(b"driver.py") + blob(instance)


def read_blobs(payload, count):
    out, at = [], 0
    for _ in range(count):
        (n,) = struct.unpack_from("<I", payload, at)
        out.append(payload[at + 4:at + 4 + n])
        at += 4 + n
    return out


class Key:
    """A shared key as rcpu keygen writes it: "<id> <64 hex digits>"."""

    def __init__(self, key_id, secret):
        self.id, self.secret = key_id.encode(), secret

    @staticmethod
    def load(path=None):
        with open(path or os.environ["RCPU_KEY_FILE"]) as f:
            for line in f:
                words = line.split("#", 1)[0].split()
                if len(words) == 2:
                    return Key(words[0], bytes.fromhex(words[1]))
        raise Failure("no key in %s" % path)

    @staticmethod
    def random(key_id="test"):
        return Key(key_id, os.urandom(32))

    def write(self, path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("%s %s\n" % (self.id.decode(), self.secret.hex()))

    def proof(self, label, client_nonce, server_nonce, instance):
        # security/handshake_proof.cpp: label NUL len(id) id client-nonce server-nonce instance
        m = label + b"\0" + bytes([len(self.id)]) + self.id + client_nonce + server_nonce + instance
        return hmac.new(self.secret, m, hashlib.sha256).digest()


def shared_key_hello(table_hash, key, client_nonce, instance):
    return frame(HELLO, hello_payload(table_hash, auth_method=AUTH_SHARED_KEY,
                                      auth=blob(key.id) + blob(client_nonce), instance=instance))


def dgemm_request(m, n, k, beta=0.0, rows=None):
    """A dgemm REQUEST payload (all 'N', alpha 1) and its operand descriptors."""
    args = struct.pack("<BB5s", 0, 1, b"LUNNN") + struct.pack("<qqq", m, n, k)
    args += struct.pack("<dddd", 1.0, 0.0, beta, 0.0) + struct.pack("<qqq", max(1, m), max(1, k), max(1, m))
    c_role = 2 if beta == 0.0 else 3
    ops = [(0, 1, m, k), (1, 1, k, n), (2, c_role, m, n)]
    if rows is not None:
        ops[0] = (0, 1, rows, k)
    body = struct.pack("<I", len(ops)) + b"".join(struct.pack("<BBQQI", i, r, a, b, 8) for i, r, a, b in ops)
    return args + body


def dsyrk_request(n, k):
    """A dsyrk REQUEST payload (upper triangle, A not transposed, alpha 1, beta 0: C is output only)."""
    args = struct.pack("<BB5s", 3, 1, b"LUNNN") + struct.pack("<qqq", n, n, k)
    args += struct.pack("<dddd", 1.0, 0.0, 0.0, 0.0) + struct.pack("<qqq", n, n, n)
    ops = [(0, 1, n, k), (2, 2, n, n)]
    return args + struct.pack("<I", len(ops)) + b"".join(struct.pack("<BBQQI", i, r, a, b, 8) for i, r, a, b in ops)


class Raw:
    """A raw TCP connection to the server."""

    def __init__(self, port, timeout=5):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)

    def send(self, data):
        try:
            self.s.sendall(data)
            return True
        except OSError:
            return False  # the server may close while we still send; that is a valid answer

    def recv_exact(self, n):
        out = b""
        while len(out) < n:
            chunk = self.s.recv(n - len(out))
            if not chunk:
                return None
            out += chunk
        return out

    def reply(self):
        """('closed',) | ('error', code, message, flags) | ('frame', kind, rid, payload)."""
        try:
            head = self.recv_exact(HDR.size)
        except (ConnectionResetError, socket.timeout, OSError):
            return ("closed",)
        if head is None:
            return ("closed",)
        magic, version, kind, rid, opcode, flags, length = HDR.unpack(head)
        if magic != b"RCPU" or length > 1 << 27:
            raise Failure("server sent a bad frame header")
        payload = self.recv_exact(length) if length else b""
        if kind == ERROR:
            code, mlen = struct.unpack_from("<II", payload)
            return ("error", code, payload[8:8 + mlen].decode(), flags)
        return ("frame", kind, rid, payload)

    def closed_after(self, timeout=5):
        """True when the server closes the connection (EOF or reset) within `timeout`."""
        self.s.settimeout(timeout)
        try:
            while True:
                if not self.s.recv(65536):
                    return True
        except (ConnectionResetError, OSError):
            return True
        except socket.timeout:
            return False

    def hello(self, table_hash, key=None, instance=None, proof_key=None):
        """The client's side of the handshake; returns the server's last reply. With `key`: the
        shared-key exchange, proving `proof_key` (default `key`); self.server_proved says whether
        the server's AUTH_CHALLENGE proved `key`, self.sent_proof is the AUTH_PROOF frame sent."""
        self.instance = os.urandom(16) if instance is None else instance
        self.server_proved = None
        if key is None:
            self.send(frame(HELLO, hello_payload(table_hash, instance=self.instance)))
            return self.reply()
        client_nonce = os.urandom(32)
        self.sent_hello = shared_key_hello(table_hash, key, client_nonce, self.instance)
        self.send(self.sent_hello)
        r = self.reply()
        if r[0] != "frame" or r[1] != AUTH_CHALLENGE:
            return r
        server_nonce, server_proof = read_blobs(r[3], 2)
        self.server_proved = hmac.compare_digest(
            server_proof, key.proof(b"rcpud server proof v2", client_nonce, server_nonce, self.instance))
        mine = (proof_key or key).proof(b"rcpu client proof v2", client_nonce, server_nonce, self.instance)
        self.sent_proof = frame(AUTH_PROOF, blob(mine), rid=r[2])
        self.send(self.sent_proof)
        return self.reply()

    def handshake(self, table_hash, key=None, instance=None):
        r = self.hello(table_hash, key or Key.load(), instance)
        if r[0] != "frame" or r[1] != HELLO_OK:
            raise Failure("handshake refused: %r" % (r,))

    def close(self):
        self.s.close()


def error_or_closed(r):
    return r[0] in ("error", "closed")


# ---------------------------------------------------------------- scenarios

def table_hash(bin_dir):
    out = run_client(bin_dir, None, "hash")
    return int(out.stdout.strip(), 16)


def good_client(bin_dir, server, threads=2, iters=6, seed=1):
    r = run_client(bin_dir, "127.0.0.1:%d" % server.port, "check", threads, iters, seed)
    check(r.returncode == 0, "well-behaved client gets correct results (%s%s)" % (r.stdout.strip(), r.stderr.strip()))


def scenario_faults(bin_dir):
    h = table_hash(bin_dir)
    srv = Server(bin_dir)
    try:
        idle = Raw(srv.port)  # says nothing at all, for the whole scenario
        rng = random.Random(5)

        c = Raw(srv.port)
        c.send(bytes(rng.getrandbits(8) for _ in range(4096)))
        check(error_or_closed(c.reply()), "garbage bytes: error reply or closed connection")
        c.close()

        c = Raw(srv.port)
        c.send(frame(HELLO, hello_payload(h), length=100)[:HDR.size + 10])
        c.s.shutdown(socket.SHUT_WR)
        check(c.closed_after(), "truncated frame: connection closed")
        c.close()

        c = Raw(srv.port)
        c.send(frame(HELLO, length=1 << 62))
        r = c.reply()
        check(r[0] == "error" and r[1] == ERR_BAD_FRAME, "absurd payload length: ERROR bad_frame (%r)" % (r,))
        check(c.closed_after(), "absurd payload length: then closed")
        c.close()

        c = Raw(srv.port)
        c.send(frame(HELLO, hello_payload(h), magic=b"XCPU"))
        check(error_or_closed(c.reply()), "wrong magic: error reply or closed")
        c.close()

        c = Raw(srv.port)
        c.send(frame(HELLO, hello_payload(h), version=1))
        r = c.reply()
        check(r[0] == "error" and r[1] == ERR_VERSION, "wrong header version: ERROR version_mismatch (%r)" % (r,))
        c.close()

        c = Raw(srv.port)
        c.send(frame(HELLO, hello_payload(h ^ 1)))
        r = c.reply()
        check(r[0] == "error" and r[1] == ERR_OPCODE_TABLE and "opcode table mismatch" in r[2],
              "wrong opcode hash: ERROR opcode_table_mismatch (%s)" % (r[2] if len(r) > 2 else r,))
        check(r[0] == "error" and r[3] & FLAG_CLOSING and c.closed_after(), "wrong opcode hash: then closed")
        c.close()

        c = Raw(srv.port)
        c.send(frame(HELLO, hello_payload(h, auth_method=7)))
        r = c.reply()
        check(r[0] == "error" and r[1] == ERR_AUTH, "unknown auth method: ERROR auth_failed")
        c.close()

        c = Raw(srv.port)
        c.send(frame(REQUEST, dgemm_request(2, 2, 2)))
        check(error_or_closed(c.reply()), "REQUEST before HELLO: error reply or closed")
        c.close()

        c = Raw(srv.port)
        c.handshake(h)
        c.send(frame(REQUEST, bytes(rng.getrandbits(8) for _ in range(60)), rid=1, opcode=DGEMM))
        r = c.reply()
        check(r[0] == "error" and r[1] == ERR_BAD_REQUEST, "garbage REQUEST payload: ERROR bad_request")
        check(c.closed_after(), "garbage REQUEST payload: then closed")
        c.close()

        c = Raw(srv.port)
        c.handshake(h)
        c.send(frame(REQUEST, dgemm_request(1 << 40, 2, 2), rid=1, opcode=DGEMM))
        r = c.reply()
        check(r[0] == "error" and r[1] == ERR_BAD_REQUEST, "absurd dimensions: ERROR bad_request (%r)" % (r,))
        c.close()

        # Amplification: 200 bytes asking for a k = 0 dgemm would have the server clear and send a
        # 5000 x 5000 C (200 MB) of zeros; it is refused instead, and the connection stays usable.
        c = Raw(srv.port)
        c.handshake(h)
        c.send(frame(REQUEST, dgemm_request(5000, 5000, 0), rid=1, opcode=DGEMM))
        r = c.reply()
        check(r[0] == "error" and r[1] == ERR_BAD_REQUEST and "nothing to compute" in r[2] and not r[3] & FLAG_CLOSING,
              "dgemm with k = 0: ERROR bad_request, nothing allocated or sent (%r)" % (r,))
        c.close()

        c = Raw(srv.port)
        c.handshake(h)
        c.send(frame(DATA, b"x" * 64, rid=1, opcode=DGEMM))
        r = c.reply()
        check(r[0] == "error" and c.closed_after(), "DATA without a request: ERROR and closed")
        c.close()

        c = Raw(srv.port)
        c.handshake(h)
        c.send(frame(REQUEST, dgemm_request(2, 2, 2), rid=1, opcode=DGEMM))
        c.send(frame(DATA, b"\0" * 32, rid=1, opcode=DGEMM, flags=0)[:HDR.size + 10])
        c.s.shutdown(socket.SHUT_WR)
        check(c.closed_after(), "operand data cut short: session closed")
        c.close()

        # A well-framed but wrong request (its opcode says sgemm): the operands are drained, an ERROR
        # comes back, and the same connection then serves a correct dgemm.
        c = Raw(srv.port)
        c.handshake(h)
        a = [1.0, 2.0, 3.0, 4.0]  # column-major 2x2
        b = [5.0, 6.0, 7.0, 8.0]
        ops = frame(DATA, struct.pack("<4d", *a), rid=1, opcode=SGEMM, flags=0) + \
            frame(DATA, struct.pack("<4d", *b), rid=1, opcode=SGEMM, flags=1)
        c.send(frame(REQUEST, dgemm_request(2, 2, 2), rid=1, opcode=SGEMM) + ops)
        r = c.reply()
        check(r[0] == "error" and r[1] == ERR_BAD_REQUEST and not r[3] & FLAG_CLOSING,
              "request for the wrong routine: ERROR without closing (%r)" % (r,))
        c.send(frame(REQUEST, dgemm_request(2, 2, 2), rid=2, opcode=DGEMM) +
               frame(DATA, struct.pack("<4d", *a), rid=2, opcode=DGEMM, flags=0) +
               frame(DATA, struct.pack("<4d", *b), rid=2, opcode=DGEMM, flags=1))
        r = c.reply()
        check(r[0] == "frame" and r[1] == RESPONSE and r[2] == 2, "same connection: RESPONSE to the next request")
        d = c.reply()
        got = struct.unpack("<4d", d[3]) if d[0] == "frame" and d[1] == DATA else None
        want = (1 * 5 + 3 * 6, 2 * 5 + 4 * 6, 1 * 7 + 3 * 8, 2 * 7 + 4 * 8)
        check(got == want, "same connection: correct dgemm result %r" % (got,))
        c.send(frame(BYE))
        check(c.closed_after(), "BYE: server closes")
        c.close()

        # Nothing another session left in the server's pooled buffers comes back: a dgemm fills
        # buffers of 16 x 16 doubles with non-zeros; then, on another connection, a dsyrk with
        # beta = 0 writes only the upper triangle of its C, and the rest must come back as zeros.
        n = 16
        c = Raw(srv.port)
        c.handshake(h)
        ones = struct.pack("<%dd" % (n * n), *([1.0] * (n * n)))
        c.send(frame(REQUEST, dgemm_request(n, n, n), rid=1, opcode=DGEMM) +
               frame(DATA, ones, rid=1, opcode=DGEMM, flags=0) + frame(DATA, ones, rid=1, opcode=DGEMM, flags=1))
        r, d = c.reply(), c.reply()
        check(r[1] == RESPONSE and d[0] == "frame" and struct.unpack("<d", d[3][:8])[0] == n, "dgemm of ones: C = n")
        c.close()
        c = Raw(srv.port)
        c.handshake(h)
        c.send(frame(REQUEST, dsyrk_request(n, 1), rid=1, opcode=DSYRK) +
               frame(DATA, struct.pack("<%dd" % n, *([2.0] * n)), rid=1, opcode=DSYRK, flags=0))
        r, d = c.reply(), c.reply()
        got = struct.unpack("<%dd" % (n * n), d[3]) if r[1] == RESPONSE and d[0] == "frame" else None
        check(got is not None and all(got[j * n + i] == (4.0 if i <= j else 0.0) for j in range(n) for i in range(n)),
              "dsyrk beta = 0: the triangle it computed, zeros elsewhere (no other session's bytes)")
        c.close()

        check(srv.alive(), "server still running after every fault")
        good_client(bin_dir, srv)
        idle.close()
    finally:
        status = srv.stop()
    check(status == 0, "server exits cleanly on SIGTERM")


def scenario_concurrent(bin_dir):
    srv = Server(bin_dir)
    try:
        procs = [subprocess.Popen([os.path.join(bin_dir, "rcpu_itest_client"), "check", "3", "5", str(seed)],
                                  env=dict(os.environ, RCPU_SERVER="127.0.0.1:%d" % srv.port),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for seed in range(1, 5)]
        results = []
        for p in procs:
            try:
                out, err = p.communicate(timeout=45 * TIME_SCALE)
            except subprocess.TimeoutExpired:
                p.kill()
                out, err = p.communicate(timeout=5)
            results.append((p.returncode, out.strip(), err.strip()))
        for rc, out, err in results:
            check(rc == 0, "concurrent client: %s%s" % (out, err))
    finally:
        status = srv.stop(signal.SIGTERM)
    log = srv.stderr()
    check(status == 0, "SIGTERM: clean exit")
    check("dgemm:" in log and "zherk:" in log and "dtrsm:" in log, "per-op counters logged at shutdown")


def proc_cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def scenario_kill(bin_dir):
    # C inout (staged) killed while computing; C out (received in place) killed while receiving.
    for beta, n, ticks in ((1, 4000, 150), (0, 3000, 3)):
        srv = Server(bin_dir)
        client = subprocess.Popen([os.path.join(bin_dir, "rcpu_itest_client"), "bigcall", str(n), str(beta)],
                                  env=dict(os.environ, RCPU_SERVER="127.0.0.1:%d" % srv.port),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            check(client.stdout.readline().strip() == "started", "big call started (beta=%d)" % beta)
            # Kill once the server has spent some CPU on this call (a few ticks: still receiving;
            # 1.5 s: computing), well before such a dgemm can finish (4000: about 4 s of CPU here).
            t0 = proc_cpu_ticks(srv.proc.pid)
            deadline = time.time() + 20
            while proc_cpu_ticks(srv.proc.pid) - t0 < ticks and time.time() < deadline:
                time.sleep(0.01)
            srv.stop(signal.SIGKILL)
            out, err = client.communicate(timeout=30 * TIME_SCALE)
        finally:
            if client.poll() is None:
                client.kill()
                client.wait(5)
            srv.stop(signal.SIGKILL)
        check(client.returncode == 0, "server killed mid-call: call failed, C unchanged (or its arrived columns final), next call unavailable (%s%s)"
              % (out.strip(), err.strip()))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def scenario_refused(bin_dir):
    r = run_client(bin_dir, "127.0.0.1:%d" % free_port(), "refused", timeout=20)
    check(r.returncode == 0, "connection refused: unavailable quickly, then at once (%s%s)"
          % (r.stdout.strip(), r.stderr.strip()))


def scenario_limits(bin_dir):
    h = table_hash(bin_dir)
    # One key, so one client: its own session limit is raised to the server's to test the latter.
    srv = Server(bin_dir, "--max-request-bytes", "1M", "--max-sessions", "2", "--client-max-sessions", "2")
    try:
        r = run_client(bin_dir, "127.0.0.1:%d" % srv.port, "limit")
        check(r.returncode == 0, "over-limit call fails with a limit cause, a small one works (%s%s)"
              % (r.stdout.strip(), r.stderr.strip()))

        c = Raw(srv.port)
        c.handshake(h)
        c.send(frame(REQUEST, dgemm_request(400, 400, 400), rid=1, opcode=DGEMM))
        r = c.reply()
        check(r[0] == "error" and r[1] == ERR_OVER_LIMIT, "raw over-limit request: ERROR over_limit (%r)" % (r,))
        c.close()

        held = [Raw(srv.port), Raw(srv.port)]
        for x in held:
            x.handshake(h)
        third = Raw(srv.port)
        r = third.hello(h, Key.load())
        check(r[0] == "error" and r[1] == ERR_BUSY, "session beyond --max-sessions: ERROR busy (%r)" % (r,))
        third.close()
        for x in held:
            x.close()
        time.sleep(0.2)  # let the server notice the closed sessions
        good_client(bin_dir, srv, threads=1, iters=3)
        check(srv.alive(), "server still running")
    finally:
        status = srv.stop()
    check(status == 0, "server exits cleanly")


def run_tiled_calls(bin_dir, srv, **settings):
    """Runs rcpu_tiled_calls (every call compared with OpenBLAS, exit 0 only if all match) through
    the shim against `srv`, remote only, panels of 7 columns, with the given RCPU_* settings on top;
    returns (the finished process, the records of its trace)."""
    with tempfile.TemporaryDirectory() as tmp:
        trace = os.path.join(tmp, "trace.jsonl")
        env = dict(os.environ, RCPU_SERVER="127.0.0.1:%d" % srv.port, RCPU_POLICY="remote", RCPU_TILE="7",
                   RCPU_TRACE=trace, OPENBLAS_NUM_THREADS="1", **settings)
        r = subprocess.run([os.path.join(bin_dir, "rcpu_tiled_calls")], env=env, capture_output=True, text=True,
                           timeout=120 * TIME_SCALE)
        recs = []
        if os.path.exists(trace):
            with open(trace) as f:
                recs = [json.loads(line) for line in f if line.strip()]
        return r, recs


def scenario_tiled(bin_dir):
    """Odd shapes, every transpose, row-major CBLAS, alpha = 0, beta = 0 with NaN in C, k = 0 ...
    through the shim with tiles of 7 columns and 4 KiB, pipelined and stop-and-wait, each call
    compared with OpenBLAS; the trace must show tiled calls and no fallback. rcpud's
    --panel-timeline must hold one line per tiled call, each panel ready before it is computed and
    computed before it is sent."""
    timeline = tempfile.NamedTemporaryFile(suffix=".jsonl", delete=False).name
    srv = Server(bin_dir, "--panel-timeline", timeline)
    try:
        for pipeline, streams in (("1", "1"), ("1", "3"), ("0", "1")):
            r, recs = run_tiled_calls(bin_dir, srv, RCPU_FALLBACK="error", RCPU_TILE_BYTES="4096",
                                      RCPU_STREAMS=streams, RCPU_PIPELINE=pipeline)
            if r.returncode == 77:
                print("SKIP:", r.stdout.strip())
                return
            check(r.returncode == 0, "RCPU_PIPELINE=%s RCPU_STREAMS=%s: every call matches OpenBLAS (%s%s)"
                  % (pipeline, streams, r.stdout.strip()[-2000:], r.stderr.strip()[-2000:]))
            remote = [x for x in recs if x.get("where") == "remote"]
            tiled = [x for x in remote if x.get("transfer") == "tiled"]
            check(not [x for x in recs if x.get("why") == "fallback"], "no call fell back")
            if pipeline == "1":
                check(len(tiled) >= 60 and all(x.get("panel_cols") == 7 for x in tiled),
                      "%d of %d remote calls tiled, panels of 7 columns" % (len(tiled), len(remote)))
                striped = [x for x in tiled if x.get("streams", 1) > 1]
                if streams != "1":
                    check(len(striped) >= 50 and all(x["streams"] <= int(streams) for x in striped),
                          "%d tiled calls striped over up to %s connections" % (len(striped), streams))
            else:
                check(remote and not tiled, "RCPU_PIPELINE=0: %d remote calls, none tiled" % len(remote))
        check_panel_timeline(timeline, expect_calls=60)
        os.unlink(timeline)
        # Raw tiled requests that break the plan: the server answers ERROR and closes; it survives.
        h = table_hash(bin_dir)
        m, n, k = 4, 6, 3
        tiled = dgemm_request(m, n, k) + struct.pack("<QQIQQ", 2, 4096, 1, 0, 0)  # panels of 2 columns, 4 KiB tiles
        a_tile = struct.pack("<QQQQ", 0, m, 0, k) + b"\0" * (m * k * 8)
        for what, tile in (("a tile out of place", struct.pack("<QQQQ", 1, m - 1, 0, k) + b"\0" * ((m - 1) * k * 8)),
                           ("B before A", struct.pack("<QQQQ", 0, k, 0, 2) + b"\0" * (k * 2 * 8))):
            c = Raw(srv.port)
            c.handshake(h)
            c.send(frame(REQUEST, tiled, rid=1, opcode=DGEMM, flags=FLAG_TILED))
            c.send(frame(TILE, tile, rid=1, opcode=DGEMM, flags=0 if what != "B before A" else 1))
            r = c.reply()
            check(r[0] == "error" and r[1] == ERR_BAD_FRAME and r[3] & 1, "tiled: %s: ERROR bad_frame, closing (%r)" % (what, r))
            c.close()
        c = Raw(srv.port)
        c.handshake(h)
        c.send(frame(REQUEST, dgemm_request(m, n, k) + struct.pack("<QQIQQ", 0, 4096, 1, 0, 0), rid=1, opcode=DGEMM, flags=FLAG_TILED))
        r = c.reply()
        check(r[0] == "error" and r[1] == ERR_BAD_REQUEST, "tiled: panel width 0: ERROR bad_request (%r)" % (r,))
        c.close()
        # A good raw tiled call: A, then per panel B_j; results come back as TILEs, then RESPONSE.
        c = Raw(srv.port)
        c.handshake(h)
        c.send(frame(REQUEST, tiled, rid=7, opcode=DGEMM, flags=FLAG_TILED))
        c.send(frame(TILE, a_tile, rid=7, opcode=DGEMM, flags=0))
        for j in range(3):
            c.send(frame(TILE, struct.pack("<QQQQ", 0, k, 2 * j, 2) + b"\0" * (k * 2 * 8), rid=7, opcode=DGEMM, flags=1))
        kinds = [c.reply() for _ in range(4)]
        check([x[0] for x in kinds] == ["frame"] * 4 and [x[1] for x in kinds] == [TILE, TILE, TILE, RESPONSE],
              "tiled raw call: 3 result TILEs then RESPONSE (%r)" % ([x[:2] for x in kinds],))
        c.close()
        check(srv.alive(), "server still running")
    finally:
        status = srv.stop()
    check(status == 0, "server exits cleanly")


def check_panel_timeline(path, expect_calls):
    """rcpud --panel-timeline: one JSON line per tiled call; per panel ready <= done <= sent, all
    after the REQUEST and before the call ended, and the last input before the end."""
    with open(path) as f:
        lines = [json.loads(l) for l in f if l.strip()]
    check(len(lines) >= expect_calls, "panel timeline: %d tiled calls logged" % len(lines))
    bad = []
    for x in lines:
        times = list(zip(x["ready_ms"], x["done_ms"], x["sent_ms"]))
        if not x["ok"] or len(times) != x["panels"] or x["panels"] != -(-x["n"] // x["panel_cols"]) \
                or not 0 <= x["last_input_ms"] <= x["end_ms"] \
                or any(not 0 <= r <= d <= s <= x["end_ms"] for r, d, s in times):
            bad.append(x)
    check(not bad, "panel timeline: every panel ready <= computed <= sent <= end (%d bad, first %r)"
          % (len(bad), bad[:1]))


def scenario_partial(bin_dir):
    """Tiled calls that break after part of C has arrived (rcpud's test hook RCPUD_TEST_FAIL_PANEL
    fails every tiled call at panel 2, once panels 0 and 1 have gone out). With an inout C the
    arrived columns are final in the application's C and only the others run locally; with C out
    the whole call reruns. Every result must still match OpenBLAS exactly as rcpu_tiled_calls
    checks it (padding untouched), and the trace must show both kinds of fallback."""
    srv = Server(bin_dir, env=dict(os.environ, RCPUD_TEST_FAIL_PANEL="2"))
    try:
        for streams in ("1", "3"):
            r, recs = run_tiled_calls(bin_dir, srv, RCPU_FALLBACK="local", RCPU_TILE_BYTES="4096", RCPU_STREAMS=streams)
            if r.returncode == 77:
                print("SKIP:", r.stdout.strip())
                return
            check(r.returncode == 0, "RCPU_STREAMS=%s: every call broken at panel 2 still matches OpenBLAS (%s%s)"
                  % (streams, r.stdout.strip()[-2000:], r.stderr.strip()[-2000:]))
            partial = [x for x in recs if x.get("why", "").startswith("fallback for the columns")]
            whole = [x for x in recs if x.get("why") == "fallback"]
            check(len(partial) >= 20, "RCPU_STREAMS=%s: %d calls finished locally from panel 2 on"
                  % (streams, len(partial)))
            check(len(whole) >= 5, "RCPU_STREAMS=%s: %d calls with C out reran whole" % (streams, len(whole)))
        check(srv.alive(), "server still running after every injected failure")
    finally:
        status = srv.stop()
    check(status == 0, "server exits cleanly")
    check_torn_tiles(bin_dir)


def scenario_trickle(bin_dir):
    """A server trickling a result tile (RCPUD_TEST_TRICKLE_PANEL: half the tile, then a byte every
    200 ms for 30 s): once a tile's header is in, its bytes must follow within the reply deadline
    (RCPU_REPLY_BASE_MS, here 100 ms, plus the bytes at 1 MiB/s), so each such call gives up within
    about a second and finishes locally, right, instead of waiting out the trickle."""
    srv = Server(bin_dir, env=dict(os.environ, RCPUD_TEST_TRICKLE_PANEL="2"))
    try:
        t0 = time.time()
        r, recs = run_tiled_calls(bin_dir, srv, RCPU_FALLBACK="local", RCPU_STREAMS="1", RCPU_REPLY_BASE_MS="100")
        took = time.time() - t0
        check(r.returncode == 0, "trickled tiles: every call still matches OpenBLAS (%s%s)"
              % (r.stdout.strip()[-2000:], r.stderr.strip()[-2000:]))
        gave_up = [x for x in recs if x.get("why", "").startswith("fallback")]
        check(gave_up, "trickled tiles: %d calls gave up on the server and finished locally" % len(gave_up))
        check(took < 1.5 * TIME_SCALE * len(gave_up) + 10,
              "trickled tiles: %.1f s for %d calls that gave up, not a trickle's 30 s each" % (took, len(gave_up)))
        check(srv.alive(), "server still running")
    finally:
        status = srv.stop(timeout=40)
    check(status == 0, "server exits cleanly")


def check_torn_tiles(bin_dir, **server_env):
    """Torn mid-tile (RCPUD_TEST_TEAR_PANEL): result columns land straight in C, so a tile cut
    midway leaves whole columns (final) and one half-written column, whose old values the client
    must put back before computing it locally. With whole-column tiles (the default tile size),
    the 700-row DGEMM's torn tile keeps its first 3 of 7 columns: a range left to run locally
    starting off a panel boundary proves it; exact results prove the torn column was restored."""
    srv = Server(bin_dir, env=dict(os.environ, RCPUD_TEST_TEAR_PANEL="2", **server_env))
    try:
        for streams in ("1", "3"):
            r, recs = run_tiled_calls(bin_dir, srv, RCPU_FALLBACK="local", RCPU_STREAMS=streams)
            check(r.returncode == 0, "torn tiles, RCPU_STREAMS=%s: every call still matches OpenBLAS (%s%s)"
                  % (streams, r.stdout.strip()[-2000:], r.stderr.strip()[-2000:]))
            starts = [int(m) for x in recs if x.get("why", "").startswith("fallback for the columns")
                      for m in re.findall(r"\[(\d+),", x["why"])[:1]]
            check(len(starts) >= 20, "torn tiles, RCPU_STREAMS=%s: %d calls finished locally" % (streams, len(starts)))
            # On one connection the torn tile is the first thing lost, so the first column left to
            # run is inside it. Over three, the tear ends every stripe of the call, and tiles still in
            # flight on the others may be lost before it: the first column left may then be at a
            # panel's start, and only the exact results above show the torn column was restored.
            if streams == "1":
                check(any(c % 7 for c in starts), "torn tiles, RCPU_STREAMS=1: the whole columns of a torn tile "
                      "were kept (first columns left to run: %s)" % sorted(set(starts)))
        check(srv.alive(), "server still running after every torn tile")
    finally:
        status = srv.stop()
    check(status == 0, "server exits cleanly")


def scenario_staged(bin_dir):
    """Scenario tiled's calls and partial's torn tiles again, with rcpud moving every tile through
    slots of 1000 bytes (RCPUD_TEST_STAGING_BYTES, server/blas/host_staging.h: pieces that cut tiles,
    and elements, anywhere): the slot path the CUDA backend's receive ring takes, on any machine.
    Under RCPU_ITEST_BACKEND=cuda the backend's own page-locked slots serve instead."""
    staging = {"RCPUD_TEST_STAGING_BYTES": "1000"}
    srv = Server(bin_dir, env=dict(os.environ, **staging))
    try:
        for streams, tile in (("1", "4096"), ("3", "4096"), ("2", "65536")):
            r, recs = run_tiled_calls(bin_dir, srv, RCPU_FALLBACK="error", RCPU_TILE_BYTES=tile, RCPU_STREAMS=streams)
            if r.returncode == 77:
                print("SKIP:", r.stdout.strip())
                return
            check(r.returncode == 0, "staged, RCPU_STREAMS=%s, tiles of %s bytes: every call matches OpenBLAS (%s%s)"
                  % (streams, tile, r.stdout.strip()[-2000:], r.stderr.strip()[-2000:]))
            tiled = [x for x in recs if x.get("where") == "remote" and x.get("transfer") == "tiled"]
            check(len(tiled) >= 60 and not [x for x in recs if x.get("why") == "fallback"],
                  "staged: %d tiled calls, none fell back" % len(tiled))
        check(srv.alive(), "server still running")
    finally:
        status = srv.stop()
    check(status == 0, "server exits cleanly")
    check_torn_tiles(bin_dir, **staging)


def placement_report(log):
    """Per-device lines of rcpud's shutdown log (server/placement/placement.cpp usage_report)."""
    import re
    devs = {}
    for m in re.finditer(r"^device (\d+): (\d+) whole calls, (\d+) pieces of split calls, (\d+) panel pieces, "
                         r"([0-9.]+) GFLOP", log, re.M):
        devs[int(m.group(1))] = {"whole": int(m.group(2)), "pieces": int(m.group(3)), "panels": int(m.group(4)),
                                 "gflop": float(m.group(5))}
    return devs


def scenario_multidev(bin_dir):
    """Placement over several devices: rcpud serves the CPU as 3 virtual devices (the third emulated
    3x slower) and splits every call (--split-min-flops 0): the shim's odd-shaped tiled and
    stop-and-wait calls (rcpu_tiled_calls, every family, compared with OpenBLAS) and concurrent
    clients must all be right, and the shutdown log must show pieces run on every device, the slow
    one given the least work. With RCPU_ITEST_BACKEND=cuda: every GPU of the machine instead."""
    backend = os.environ.get("RCPU_ITEST_BACKEND", "cpu")
    extra = ["--split-min-flops", "0", "--split-min-cols", "1"]
    if backend == "cpu":
        extra += ["--virtual-devices", "3", "--device-slowdown", "1,1,3"]
    srv = Server(bin_dir, *extra)
    try:
        for pipeline, streams in (("1", "2"), ("0", "1")):
            r, recs = run_tiled_calls(bin_dir, srv, RCPU_FALLBACK="error", RCPU_TILE_BYTES="4096",
                                      RCPU_STREAMS=streams, RCPU_PIPELINE=pipeline)
            check(r.returncode == 0, "RCPU_PIPELINE=%s: every call placed over the devices matches OpenBLAS (%s%s)"
                  % (pipeline, r.stdout.strip()[-2000:], r.stderr.strip()[-2000:]))
            remote = [x for x in recs if x.get("where") == "remote"]
            check(len(remote) >= 60 and not [x for x in recs if x.get("why") == "fallback"],
                  "%d remote calls, none fell back" % len(remote))
        good_client(bin_dir, srv, threads=3, iters=4, seed=5)
        check(srv.alive(), "server still running")
    finally:
        status = srv.stop()
    check(status == 0, "server exits cleanly")
    log = srv.stderr()
    devs = placement_report(log)
    if backend != "cpu" and not devs:
        print("  note: one device only (no placement report): correctness checked, the split was not exercised")
        return
    check(len(devs) >= 2, "placement report for %d devices in the log" % len(devs))
    with_pieces = [d for d, v in devs.items() if v["pieces"] > 0]
    with_panels = [d for d, v in devs.items() if v["panels"] > 0]
    check(len(with_pieces) == len(devs), "every device ran pieces of split calls: %s" % devs)
    check(len(with_panels) >= 2, "panels of tiled calls ran on %d devices" % len(with_panels))
    if backend == "cpu":
        check(devs[2]["gflop"] < max(devs[0]["gflop"], devs[1]["gflop"]),
              "the emulated 3x slower device got less work (%s GFLOP vs %s, %s)"
              % (devs[2]["gflop"], devs[0]["gflop"], devs[1]["gflop"]))


def quiet_for(raw, seconds):
    """True when the server sends nothing (and does not close) within `seconds`."""
    import select
    readable, _, _ = select.select([raw.s], [], [], seconds)
    return not readable


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def session_counts(log):
    m = re.search(r"sessions: (\d+) served, (\d+) rejected, (\d+) failed authentication", log)
    return tuple(map(int, m.groups())) if m else None


def scenario_auth(bin_dir):
    h = table_hash(bin_dir)
    key = Key.load()
    # A JOIN for a call nobody holds waits --handshake-timeout before it is refused; 3 s keeps that
    # within the victim's request-body deadline (5 s) below.
    srv = Server(bin_dir, "--handshake-timeout", "3")
    refusals = 0  # handshakes the server must count as failed authentication
    served = 0    # raw sessions that must be counted as served
    try:
        def refused_with(r, what, text):
            check(r[0] == "error" and r[1] == ERR_AUTH and text in r[2], "%s: ERROR auth_failed (%r)" % (what, r))

        c = Raw(srv.port)
        refused_with(c.hello(h), "no key", "authentication required")
        check(c.closed_after(), "no key: then closed")
        refusals += 1

        c = Raw(srv.port)
        refused_with(c.hello(h, Key.random("nosuchkey")), "unknown key id", "unknown key id")
        refusals += 1

        c = Raw(srv.port)
        wrong = Key.random(key.id.decode())
        r = c.hello(h, wrong)
        check(c.server_proved is False, "wrong key: the client sees that the server's proof does not match its key")
        refused_with(r, "wrong key", "wrong key")
        check(c.closed_after(), "wrong key: then closed")
        refusals += 1

        # Replay: a recorded successful handshake (HELLO and AUTH_PROOF) sent again verbatim. The
        # server's fresh nonce makes the recorded proof worthless.
        c = Raw(srv.port)
        r = c.hello(h, key)
        check(r[0] == "frame" and r[1] == HELLO_OK and c.server_proved, "right key: HELLO_OK, server proved the key")
        served += 1
        recorded_hello, recorded_proof = c.sent_hello, c.sent_proof
        c.close()
        c = Raw(srv.port)
        c.send(recorded_hello)
        r = c.reply()
        check(r[0] == "frame" and r[1] == AUTH_CHALLENGE, "replayed HELLO: a new challenge")
        c.send(recorded_proof)
        refused_with(c.reply(), "replayed AUTH_PROOF", "wrong key")
        refusals += 1

        c = Raw(srv.port)
        c.send(shared_key_hello(h, key, os.urandom(32), os.urandom(16)))
        r = c.reply()
        c.send(frame(REQUEST, dgemm_request(2, 2, 2), rid=1, opcode=DGEMM))
        refused_with(c.reply(), "REQUEST instead of AUTH_PROOF", "expected AUTH_PROOF")
        refusals += 1

        c = Raw(srv.port)
        c.send(shared_key_hello(h, key, os.urandom(32), os.urandom(16)))
        c.reply()
        c.send(frame(AUTH_PROOF, blob(b"x" * 32))[:HDR.size + 5])
        c.s.shutdown(socket.SHUT_WR)
        check(c.closed_after(), "handshake cut short after the challenge: closed")

        c = Raw(srv.port)
        c.send(shared_key_hello(h, key, os.urandom(7), os.urandom(16)))
        refused_with(c.reply(), "short client nonce", "nonce")
        refusals += 1

        c = Raw(srv.port)
        c.send(frame(HELLO, struct.pack("<IQQH", PROTOCOL_VERSION, h, 1, AUTH_NONE) + blob(b"") + blob(b"v1")))
        r = c.reply()
        check(r[0] == "error" and r[1] == ERR_BAD_FRAME, "HELLO without an instance id: ERROR bad_frame (%r)" % (r,))

        # A flood of wrong keys costs the server nothing beyond the handshake.
        before = rss_kib(srv.proc.pid)
        for _ in range(200):
            c = Raw(srv.port)
            c.hello(h, wrong)
            c.close()
            refusals += 1
        grown = rss_kib(srv.proc.pid) - before
        check(grown < 16 * 1024, "200 wrong-key handshakes: rcpud's memory grew %d KiB (< 16 MiB)" % grown)
        good_client(bin_dir, srv)

        # JOIN hijack: the victim's tiled call waits for its stripe 1; another client (same key,
        # another instance) that presents the victim's token is refused exactly like an unknown
        # token, and the victim's own second connection is accepted.
        victim_instance = os.urandom(16)
        victim = Raw(srv.port)
        victim.handshake(h, key, victim_instance)
        token = struct.unpack("<QQ", os.urandom(16))
        m = n = k = 64
        victim.send(frame(REQUEST, dgemm_request(m, n, k) + struct.pack("<QQIQQ", 16, 4096, 2, *token), rid=1,
                          opcode=DGEMM, flags=FLAG_TILED))
        # A JOIN that finds no call waits for the server's handshake time-out (3 s here) before it
        # is refused: both wait at once.
        thief, unknown = Raw(srv.port, timeout=20), Raw(srv.port, timeout=20)
        thief.handshake(h, key)
        unknown.handshake(h, key)
        thief.send(frame(JOIN, struct.pack("<QQI", token[0], token[1], 1), rid=1, opcode=DGEMM))
        unknown.send(frame(JOIN, struct.pack("<QQI", token[0] ^ 1, token[1], 1), rid=1, opcode=DGEMM))
        r, r2 = thief.reply(), unknown.reply()
        check(r[0] == "error" and r[1] == ERR_BAD_REQUEST, "JOIN with another client's token: refused (%r)" % (r,))
        check(r2 == r, "the refusal says no more than for a token nobody holds (%r)" % (r2,))
        own = Raw(srv.port)
        own.handshake(h, key, victim_instance)
        own.send(frame(JOIN, struct.pack("<QQI", token[0], token[1], 1), rid=1, opcode=DGEMM))
        check(quiet_for(own, 1.0), "JOIN from the victim's own process: accepted (no ERROR)")
        served += 4
        for x in (victim, thief, unknown, own):
            x.close()

        with tempfile.TemporaryDirectory() as tmp:
            bad = os.path.join(tmp, "bad-key")
            Key.random(key.id.decode()).write(bad)
            r, recs = run_tiled_calls(bin_dir, srv, RCPU_FALLBACK="local", RCPU_KEY_FILE=bad)
            warnings = [x for x in r.stderr.splitlines() if "warning" in x]
            check(r.returncode == 0 and recs and not [x for x in recs if x.get("where") == "remote"],
                  "client with a wrong key: %d calls computed locally, every result right (%s)"
                  % (len(recs), r.stdout.strip()[-200:]))
            check(len(warnings) == 1 and "RCPU_KEY_FILE" in warnings[0],
                  "client with a wrong key: one warning that says what to do (%r)" % (warnings,))

            # A server that does not hold the client's key cannot prove it: the client refuses it.
            other = os.path.join(tmp, "other-key")
            Key.random(key.id.decode()).write(other)
            impostor = Server(bin_dir, "--key-file", other)
            try:
                c = Raw(impostor.port)
                c.hello(h, key)
                check(c.server_proved is False, "impostor server: its proof does not match the client's key")
                c.close()
                r = run_client(bin_dir, "127.0.0.1:%d" % impostor.port, "unavailable", "could not prove")
                check(r.returncode == 0, "impostor server: the client library refuses it, C untouched (%s%s)"
                      % (r.stdout.strip(), r.stderr.strip()))
            finally:
                impostor.stop()
        check(srv.alive(), "server still running")
        good_client(bin_dir, srv, threads=1, iters=3)
    finally:
        status = srv.stop()
    check(status == 0, "server exits cleanly")
    counts = session_counts(srv.stderr())
    check(counts is not None and counts[2] == refusals and counts[0] >= served,
          "rcpud counted %d failed authentications, %s served, nothing else (%r)" % (refusals, served, counts))


def scenario_slow(bin_dir):
    h = table_hash(bin_dir)
    key = Key.load()
    srv = Server(bin_dir, "--handshake-timeout", "1", "--idle-timeout", "1", "--max-sessions", "3",
                 "--client-max-sessions", "3")  # one key, one client: the server's limit is tested
    try:
        hello = shared_key_hello(h, key, os.urandom(32), os.urandom(16))
        tricklers = [Raw(srv.port) for _ in range(20)]
        t0 = time.time()
        for i in range(12):  # one byte of the HELLO every 0.2 s: each byte came well within a second
            for c in tricklers:
                c.send(hello[i:i + 1])
            time.sleep(0.2)
        closed = sum(c.closed_after(0.5) for c in tricklers)
        check(closed == len(tricklers), "20 connections trickling their HELLO: all dropped at the 1 s handshake "
              "time-out though each byte came in 0.2 s (%d of 20, %.1f s)" % (closed, time.time() - t0))
        good_client(bin_dir, srv, threads=1, iters=2)

        silent = [Raw(srv.port) for _ in range(3)]
        for c in silent:
            c.handshake(h, key)
        extra = Raw(srv.port)
        r = extra.hello(h, key)
        check(r[0] == "error" and r[1] == ERR_BUSY, "three silent sessions fill --max-sessions 3: busy (%r)" % (r,))
        closed = sum(c.closed_after(3) for c in silent)
        check(closed == 3, "silent sessions closed at the 1 s idle time-out (%d of 3)" % closed)
        time.sleep(0.2)  # let the server count them out
        late = Raw(srv.port)
        r = late.hello(h, key)
        check(r[0] == "frame" and r[1] == HELLO_OK, "then a new client gets a session (%r)" % (r,))
        late.close()

        r = run_client(bin_dir, "127.0.0.1:%d" % srv.port, "gaps", 3, 1.5)
        check(r.returncode == 0, "calls 1.5 s apart all run remotely, past the idle time-out (%s%s)"
              % (r.stdout.strip(), r.stderr.strip()))
        check(srv.alive(), "server still running")
    finally:
        status = srv.stop()
    check(status == 0, "server exits cleanly")


def munge_hello(c, h, munged, instance=None, payload=None):
    """The MUNGE handshake on raw frames; returns (the last reply, the AUTH_PROOF frame sent)."""
    instance = os.urandom(16) if instance is None else instance
    c.send(frame(HELLO, hello_payload(h, auth_method=AUTH_MUNGE, instance=instance)))
    r = c.reply()
    if r[0] != "frame" or r[1] != AUTH_CHALLENGE:
        return r, None
    nonce, _ = read_blobs(r[3], 2)
    sent = frame(AUTH_PROOF, blob(munged.credential(payload or b"rcpu munge v2\0" + nonce + instance)), rid=r[2])
    c.send(sent)
    return c.reply(), sent


def scenario_munge(bin_dir):
    if not munge_available():
        print("SKIP: munged, mungekey or munge not installed (package munge)")
        return 77
    h = table_hash(bin_dir)
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)
        site, other = Munged(tmp, "site"), Munged(tmp, "other")
        try:
            try:
                srv = Server(bin_dir, "--auth", "munge", "--munge-socket", site.socket)
            except Failure as e:
                if "built without MUNGE" in str(e):
                    print("SKIP: rcpud built without MUNGE (libmunge-dev)")
                    return 77
                raise
            refusals = 0
            env = dict(os.environ, RCPU_AUTH="munge", RCPU_MUNGE_SOCKET=site.socket,
                       RCPU_SERVER="127.0.0.1:%d" % srv.port)

            def munge_client(what):
                r = subprocess.run([os.path.join(bin_dir, "rcpu_itest_client"), "check", "2", "4", "3"], env=env,
                                   capture_output=True, text=True, timeout=60 * TIME_SCALE)
                check(r.returncode == 0, "%s (%s%s)" % (what, r.stdout.strip(), r.stderr.strip()))
            try:
                munge_client("RCPU_AUTH=munge client served")

                c = Raw(srv.port)
                instance = os.urandom(16)
                r, recorded = munge_hello(c, h, site, instance)
                check(r[0] == "frame" and r[1] == HELLO_OK, "raw MUNGE handshake: HELLO_OK (%r)" % (r,))
                c.close()

                c = Raw(srv.port)
                r, _ = munge_hello(c, h, other)
                check(r[0] == "error" and r[1] == ERR_AUTH and "MUNGE credential refused" in r[2],
                      "credential of another site's munged: refused (%r)" % (r,))
                refusals += 1

                c = Raw(srv.port)
                c.send(frame(HELLO, hello_payload(h, auth_method=AUTH_MUNGE, instance=instance)))
                c.reply()
                c.send(recorded)
                r = c.reply()
                check(r[0] == "error" and r[1] == ERR_AUTH, "replayed MUNGE credential: refused (%r)" % (r,))
                refusals += 1

                c = Raw(srv.port)
                r, _ = munge_hello(c, h, site, payload=b"rcpu munge v2\0" + os.urandom(48))
                check(r[0] == "error" and r[1] == ERR_AUTH and "not made for this handshake" in r[2],
                      "a good credential made for another handshake: refused (%r)" % (r,))
                refusals += 1

                c = Raw(srv.port)
                r = c.hello(h, Key.load())
                check(r[0] == "error" and r[1] == ERR_AUTH and "does not accept shared keys" in r[2],
                      "shared key at a MUNGE-only server: refused (%r)" % (r,))
                refusals += 1

                r = run_client(bin_dir, "127.0.0.1:%d" % srv.port, "unavailable", "does not accept shared keys")
                check(r.returncode == 0, "a client without MUNGE runs locally, told why (%s)" % r.stdout.strip())
                munge_client("RCPU_AUTH=munge client still served after the refusals")
            finally:
                srv.stop()
            counts = session_counts(srv.stderr())
            check(counts is not None and counts[2] >= refusals, "rcpud counted the refusals (%r)" % (counts,))

            # Authorization: a uid outside --allow-uid / --allow-gid is refused like a bad credential;
            # the same client is served where its user name is listed.
            import pwd
            me = pwd.getpwuid(os.getuid()).pw_name
            for allow, served in ((["--allow-uid", str(os.getuid() + 1), "--allow-gid", str(os.getgid() + 1)], False),
                                  (["--allow-uid", me], True)):
                srv = Server(bin_dir, "--auth", "munge", "--munge-socket", site.socket, *allow)
                env["RCPU_SERVER"] = "127.0.0.1:%d" % srv.port
                try:
                    c = Raw(srv.port)
                    r, _ = munge_hello(c, h, site)
                    c.close()
                    if served:
                        check(r[0] == "frame" and r[1] == HELLO_OK, "%s: its user is let in (%r)" % (allow, r))
                        munge_client("%s: the client library is served" % allow)
                    else:
                        check(r[0] == "error" and r[1] == ERR_AUTH and "not allowed" in r[2],
                              "%s: uid %d refused in the handshake (%r)" % (allow, os.getuid(), r))
                        r = subprocess.run([os.path.join(bin_dir, "rcpu_itest_client"), "unavailable", "not allowed"],
                                           env=env, capture_output=True, text=True, timeout=60 * TIME_SCALE)
                        check(r.returncode == 0, "%s: the client runs locally, told why (%s)" % (allow, r.stdout.strip()))
                finally:
                    srv.stop()
                counts = session_counts(srv.stderr())
                want = 0 if served else 2
                check(counts is not None and counts[2] == want,
                      "%s: %d failed authentications counted (%r)" % (allow, want, counts))
        finally:
            site.stop()
            other.stop()


def scenario_tls(bin_dir):
    """rcpud under --tls-cert: tiled calls striped over several connections, every one of them TLS,
    results right; a client in the clear, or one that does not trust the server's authority,
    computes locally after one warning that says what to set, and each is a failed
    authentication; a prober sending garbage does not disturb anyone. Then mutual TLS: a client
    certificate from the authority is the credential (no key), one from another authority is
    refused. Certificates: RCPU_TEST_TLS_DIR (build/test-tls, tests/tls/make_test_certs.sh)."""
    tls = os.environ.get("RCPU_TEST_TLS_DIR", "")
    check(os.path.exists(os.path.join(tls, "server.pem")), "test certificates in RCPU_TEST_TLS_DIR (%r)" % tls)
    pem = lambda name: os.path.join(tls, name)
    srv = Server(bin_dir, "--tls-cert", pem("server.pem"), "--tls-key", pem("server.key"))
    refusals = 0
    try:
        r, recs = run_tiled_calls(bin_dir, srv, RCPU_FALLBACK="error", RCPU_STREAMS="3", RCPU_TLS_CA=pem("ca.pem"))
        remote = [x for x in recs if x.get("where") == "remote"]
        striped = [x for x in remote if x.get("streams", 1) > 1]
        check(r.returncode == 0 and len(remote) >= 100 and not [x for x in recs if x.get("why") == "fallback"],
              "TLS client: %d of %d calls remote, none fell back, every result right (%s%s)"
              % (len(remote), len(recs), r.stdout.strip()[-300:], r.stderr.strip()[-300:]))
        check(len(striped) >= 50, "TLS client: %d calls striped over several TLS connections" % len(striped))

        for what, settings, advice in (
                ("client in the clear", {}, "RCPU_TLS_CA"),
                ("client trusting another authority", {"RCPU_TLS_CA": pem("rogue-ca.pem")}, "certificate verify failed")):
            before = srv.stderr().count("TLS handshake")
            r, recs = run_tiled_calls(bin_dir, srv, RCPU_FALLBACK="local", **settings)
            warnings = [x for x in r.stderr.splitlines() if "warning" in x]
            check(r.returncode == 0 and recs and not [x for x in recs if x.get("where") == "remote"],
                  "%s: %d calls computed locally, every result right" % (what, len(recs)))
            check(len(warnings) == 1 and advice in warnings[0],
                  "%s: one warning that says %r (%r)" % (what, advice, warnings))
            refusals += srv.stderr().count("TLS handshake") - before
        check(refusals >= 2, "rcpud logged each refused TLS handshake (%d)" % refusals)

        # A record too long for TLS, a garbage handshake record, data before any handshake, and an
        # rcpu frame in the clear: each is dropped at once.
        for junk in (b"\x16\x03\x01\xff\xff" + os.urandom(64), b"\x16\x03\x01\x00\x10" + os.urandom(16),
                     b"\x17\x03\x03\x00\x20" + os.urandom(32), b"RCPU" + os.urandom(60)):
            c = Raw(srv.port)
            c.send(junk)
            check(c.closed_after(5), "prober sending %r...: dropped" % junk[:5])
            c.close()
            refusals += 1
        r, recs = run_tiled_calls(bin_dir, srv, RCPU_FALLBACK="error", RCPU_TLS_CA=pem("ca.pem"))
        check(r.returncode == 0 and recs, "TLS client served after the probes (%s)" % r.stderr.strip()[-300:])
        check(srv.alive(), "server still running")
    finally:
        status = srv.stop()
    check(status == 0, "server exits cleanly")
    counts = session_counts(srv.stderr())
    check(counts is not None and counts[2] >= refusals,
          "every refused TLS handshake counted as a failed authentication (%r, at least %d)" % (counts, refusals))

    srv = Server(bin_dir, "--tls-cert", pem("server.pem"), "--tls-key", pem("server.key"),
                 "--tls-client-ca", pem("ca.pem"))
    try:
        mutual = {"RCPU_TLS_CA": pem("ca.pem"), "RCPU_AUTH": "tls"}
        r, recs = run_tiled_calls(bin_dir, srv, RCPU_FALLBACK="error", RCPU_TLS_CERT=pem("client.pem"),
                                  RCPU_TLS_KEY=pem("client.key"), **mutual)
        check(r.returncode == 0 and len([x for x in recs if x.get("where") == "remote"]) >= 100,
              "mutual TLS: a certificate from the authority is the credential (%s)" % r.stderr.strip()[-300:])
        r, recs = run_tiled_calls(bin_dir, srv, RCPU_FALLBACK="local", RCPU_TLS_CERT=pem("rogue-client.pem"),
                                  RCPU_TLS_KEY=pem("rogue-client.key"), **mutual)
        check(r.returncode == 0 and recs and not [x for x in recs if x.get("where") == "remote"],
              "mutual TLS: a certificate from another authority is refused, calls computed locally")
        check(srv.alive(), "server still running")
    finally:
        status = srv.stop()
    check(status == 0, "server exits cleanly")


def dgemm_inputs(rid, m, n, k, value=1.0):
    """DATA frames of A (m x k) and B (k x n) filled with `value`, in pieces of at most 1 MiB."""
    out = b""
    for index, count in ((0, m * k), (1, k * n)):
        data = struct.pack("<d", value) * count
        for at in range(0, len(data), 1 << 20):
            out += frame(DATA, data[at:at + (1 << 20)], rid=rid, opcode=DGEMM, flags=index)
    return out


def raw_dgemm(c, rid, m, n, k, value=1.0):
    """A whole dgemm on raw frames (A, B all `value`): ('ok', C's first element) or the reply."""
    c.send(frame(REQUEST, dgemm_request(m, n, k), rid=rid, opcode=DGEMM) + dgemm_inputs(rid, m, n, k, value))
    r = c.reply()
    if r[0] != "frame" or r[1] != RESPONSE:
        return r
    got = b""
    while len(got) < 8 * m * n:
        d = c.reply()
        if d[0] != "frame" or d[1] != DATA:
            return d
        got += d[3]
    return ("ok", struct.unpack_from("<d", got)[0])


def client_limit_report(log):
    """{client: (admitted, memory, calls, share, sessions)} from rcpud's shutdown log, and the totals."""
    per = {m.group(1): tuple(map(int, m.groups()[1:])) for m in re.finditer(
        r"client (\S+): (\d+) calls admitted; refused: (\d+) over memory, (\d+) over calls in flight, "
        r"(\d+) over device share, (\d+) sessions", log)}
    m = re.search(r"client limits: refused (\d+) over memory, (\d+) over calls in flight, (\d+) over device "
                  r"share, (\d+) sessions", log)
    return per, tuple(map(int, m.groups())) if m else None


def scenario_flood(bin_dir):
    """Per-client limits (docs/security.md): a client `flood` (its own key) is refused over its memory,
    its calls in flight, its device share and its sessions, each on raw frames where the numbers
    are known, with ERROR replies that keep the connection usable and rcpud's memory bounded; the
    other client (the build's test key) is served throughout. Then a flood through the shim from
    6 processes of `flood`: every result right (refused calls run locally), while the other client's
    calls all run remotely; rcpud's counters attribute every refusal to `flood`."""
    h = table_hash(bin_dir)
    calm = Key.load()
    flood = Key.random("flood")
    with tempfile.TemporaryDirectory() as tmp:
        both, flood_file = os.path.join(tmp, "server-keys"), os.path.join(tmp, "flood-key")
        flood.write(flood_file)
        fd = os.open(both, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            for key in (calm, flood):
                f.write("%s %s\n" % (key.id.decode(), key.secret.hex()))
        srv = Server(bin_dir, "--key-file", both, "--max-memory", "256M", "--client-max-memory", "8M",
                     "--client-max-calls", "2", "--client-device-share", "0.5", "--client-max-sessions", "6",
                     "--max-sessions", "24")
        flood_id, calm_id = "key:" + flood.id.decode(), "key:" + calm.id.decode()
        try:
            def conn(key):
                c = Raw(srv.port, timeout=20)
                c.handshake(h, key)
                return c

            def refused(r, code, text, what):
                check(r[0] == "error" and r[1] == code and text in r[2] and not r[3] & FLAG_CLOSING,
                      "%s: ERROR %s, connection kept (%r)" % (what, code, r))

            # Memory: one call over the client's 8 MiB (3 x 2.9 MB), its 5.8 MB of inputs drained.
            f1 = conn(flood)
            before = rss_kib(srv.proc.pid)
            refused(raw_dgemm(f1, 1, 600, 600, 600), ERR_OVER_LIMIT, "--client-max-memory", "flood: 8.6 MB call")
            grown = rss_kib(srv.proc.pid) - before
            check(grown < 4 * 1024, "refused 8.6 MB call: rcpud's memory grew %d KiB (< 4 MiB)" % grown)
            check(raw_dgemm(f1, 2, 2, 2, 2, 1.5) == ("ok", 4.5), "flood: then a small call on that connection")

            # Memory held in flight: a 4.9 MB call waiting for its inputs holds it; a second does not fit.
            f1.send(frame(REQUEST, dgemm_request(450, 450, 450), rid=3, opcode=DGEMM))
            time.sleep(0.2)
            f2 = conn(flood)
            refused(raw_dgemm(f2, 1, 450, 450, 450), ERR_OVER_LIMIT, "in flight hold",
                    "flood: second 4.9 MB call while the first is in flight")
            # Calls in flight: with the held one, one more (waiting for its inputs), then busy.
            f3 = conn(flood)
            f3.send(frame(REQUEST, dgemm_request(2, 2, 2), rid=1, opcode=DGEMM))
            time.sleep(0.2)
            f4 = conn(flood)
            refused(raw_dgemm(f4, 1, 2, 2, 2), ERR_BUSY, "--client-max-calls", "flood: third call in flight")
            # The other client is served meanwhile.
            c1 = conn(calm)
            check(raw_dgemm(c1, 1, 3, 3, 3, 2.0) == ("ok", 12.0), "calm client served while flood holds 2 calls")

            # Device share: once calm has a call in flight, flood may hold 1 (0.5 x 2) of its 2.
            c1.send(frame(REQUEST, dgemm_request(2, 2, 2), rid=2, opcode=DGEMM))
            f3.send(dgemm_inputs(1, 2, 2, 2))
            r = f3.reply()
            check(r[0] == "frame" and r[1] == RESPONSE, "flood: its waiting call served once its inputs came")
            f3.reply()  # C
            time.sleep(0.2)
            refused(raw_dgemm(f4, 2, 2, 2, 2), ERR_BUSY, "--client-device-share",
                    "flood: a second call while calm has one in flight")
            c1.send(dgemm_inputs(2, 2, 2, 2))
            check(c1.reply()[1] == RESPONSE and c1.reply()[1] == DATA, "calm: its call served")
            # Calm's reply can reach it a moment before rcpud lets go of the call: a few tries.
            r = None
            for attempt in range(30):
                r = raw_dgemm(f4, 3 + attempt, 2, 2, 2, 1.0)
                if r == ("ok", 2.0):
                    break
                time.sleep(0.1)
            check(r == ("ok", 2.0),
                  "flood: a second call again once calm has none in flight (the share binds only then) (%r)" % (r,))

            # Sessions: flood has 4; 2 more, then busy. calm still gets one.
            extra = [conn(flood), conn(flood)]
            x = Raw(srv.port)
            r = x.hello(h, flood)
            check(r[0] == "error" and r[1] == ERR_BUSY and "--client-max-sessions" in r[2],
                  "flood: 7th session refused busy (%r)" % (r,))
            x.close()
            c2 = conn(calm)
            check(raw_dgemm(c2, 1, 2, 2, 2, 1.0) == ("ok", 2.0), "calm: a new session while flood has 6")
            for c in [f1, f2, f3, f4, c1, c2] + extra:
                c.close()
            time.sleep(0.5)  # the held call ends with its connection

            # A flood through the shim: 6 processes of `flood` at once, refused calls run locally.
            procs, traces = [], []
            for i in range(6):
                trace = os.path.join(tmp, "trace%d.jsonl" % i)
                traces.append(trace)
                env = dict(os.environ, RCPU_SERVER="127.0.0.1:%d" % srv.port, RCPU_POLICY="remote", RCPU_TILE="7",
                           RCPU_TRACE=trace, OPENBLAS_NUM_THREADS="1", RCPU_FALLBACK="local",
                           RCPU_KEY_FILE=flood_file)
                procs.append(subprocess.Popen([os.path.join(bin_dir, "rcpu_tiled_calls")], env=env,
                                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
            calm_runs = 0
            while any(p.poll() is None for p in procs) or calm_runs < 2:
                good_client(bin_dir, srv, threads=1, iters=4, seed=calm_runs + 1)
                calm_runs += 1
            for p in procs:
                out, err = p.communicate(timeout=120 * TIME_SCALE)
                check(p.returncode == 0, "flooding process: every result right (%s)" % (out.strip()[-200:] + err.strip()[-300:]))
            recs = []
            for t in traces:
                if os.path.exists(t):
                    with open(t) as f:
                        recs += [json.loads(line) for line in f if line.strip()]
            remote = sum(1 for x in recs if x.get("where") == "remote")
            local = sum(1 for x in recs if x.get("where") != "remote" and x.get("why") == "fallback")
            check(remote > 0 and local > 0, "the flood: %d calls served remotely, %d refused and run locally"
                  % (remote, local))
            check(srv.alive(), "server still running")
        finally:
            status = srv.stop()
    check(status == 0, "server exits cleanly")
    per, totals = client_limit_report(srv.stderr())
    f, c = per.get(flood_id), per.get(calm_id)
    check(f is not None and f[1] >= 2 and f[2] >= 1 and f[3] >= 1 and f[4] >= 1 and sum(f[1:]) > 5,
          "rcpud counted flood's refusals by reason (admitted, memory, calls, share, sessions: %r)" % (f,))
    check(c is not None and c[0] > 0 and c[1:] == (0, 0, 0, 0),
          "the calm client: %s calls admitted, none refused" % (c[0] if c else per))
    check(totals is not None and totals == tuple(f[i] + c[i] for i in range(1, 5)),
          "the server's totals are the clients' refusals (%r)" % (totals,))


SCENARIOS = {
    "trickle": scenario_trickle,
    "tls": scenario_tls,
    "munge": scenario_munge,
    "slow": scenario_slow,
    "auth": scenario_auth,
    "multidev": scenario_multidev,
    "tiled": scenario_tiled,
    "partial": scenario_partial,
    "staged": scenario_staged,
    "faults": scenario_faults,
    "concurrent": scenario_concurrent,
    "kill": scenario_kill,
    "refused": scenario_refused,
    "limits": scenario_limits,
    "flood": scenario_flood,
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True)
    ap.add_argument("scenario", choices=sorted(SCENARIOS))
    args = ap.parse_args()
    if os.environ.get("RCPU_ITEST_BACKEND") == "cuda":
        try:
            gpus = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30).stdout
        except (OSError, subprocess.TimeoutExpired):
            gpus = ""
        if "GPU" not in gpus:
            print("SKIP: RCPU_ITEST_BACKEND=cuda but no GPU here (nvidia-smi -L)")
            return 77
    t0 = time.time()
    try:
        if SCENARIOS[args.scenario](args.bin_dir) == 77:
            return 77
    except (Failure, subprocess.TimeoutExpired, OSError) as e:
        print("FAILED: %s: %s" % (args.scenario, e), flush=True)
        return 1
    print("passed: %s in %.1fs" % (args.scenario, time.time() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
