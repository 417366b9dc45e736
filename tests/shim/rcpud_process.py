"""Starting and stopping a test rcpud, shared by the shim tests (Python 3 standard library)."""
import signal, socket, subprocess


def start_server(rcpud, *extra):
    """Starts rcpud on 127.0.0.1 port 0 with the CPU backend; returns (process, "host:port")."""
    p = subprocess.Popen([rcpud, "--listen", "127.0.0.1:0", "--backend", "cpu", *extra],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = p.stdout.readline()
    assert "listening on" in line, f"rcpud did not start: {line!r}"
    return p, line.strip().rsplit(" ", 1)[1]


def stop(p):
    """SIGTERM, then SIGKILL after 10 s; always reaps."""
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def free_port():
    """A port nobody listens on (bound and released at once)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port
