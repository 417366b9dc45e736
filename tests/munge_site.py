"""A private munged with a throw-away MUNGE key, on its own socket: the "site" of the tests that
authenticate with MUNGE (tests/integration/driver.py, and --munge of tests/netlib/run_netlib.py and
tests/lapack/run_lapack.py). Needs the munge package (munged, mungekey, munge)."""
import os
import shutil
import subprocess
import tempfile


def available():
    return all(shutil.which(p) for p in ("munged", "mungekey", "munge"))


class Munged:
    """The socket's folder must be searchable by all, the key readable by its owner alone."""

    def __init__(self, tmp, name):
        self.dir = os.path.join(tmp, name)
        os.makedirs(self.dir, mode=0o755)
        os.chmod(self.dir, 0o755)
        key = os.path.join(self.dir, "munge.key")
        subprocess.run(["mungekey", "--create", "--keyfile=" + key], check=True, timeout=30)
        self.socket = os.path.join(self.dir, "socket")
        self.pid_file = os.path.join(self.dir, "munged.pid")
        subprocess.run(["munged", "--key-file=" + key, "--socket=" + self.socket, "--pid-file=" + self.pid_file,
                        "--log-file=" + os.path.join(self.dir, "munged.log"),
                        "--seed-file=" + os.path.join(self.dir, "munged.seed")], check=True, timeout=30)

    def credential(self, payload):
        return subprocess.run(["munge", "-S", self.socket], input=payload, capture_output=True, check=True,
                              timeout=30).stdout.strip()

    def server_args(self):
        """rcpud taking this site's MUNGE credentials (and nothing else)."""
        return ["--auth", "munge", "--munge-socket", self.socket]

    def client_env(self):
        return {"RCPU_AUTH": "munge", "RCPU_MUNGE_SOCKET": self.socket}

    def stop(self):
        subprocess.run(["munged", "--stop", "--socket=" + self.socket], capture_output=True, timeout=30)
        if getattr(self, "owned", None):
            shutil.rmtree(self.owned, ignore_errors=True)


def private_site():
    """A Munged in a fresh folder of its own under /tmp (a short socket path), removed at stop()."""
    tmp = tempfile.mkdtemp(prefix="rcpu-munge-")
    os.chmod(tmp, 0o755)  # munged insists that every folder above its socket is searchable
    site = Munged(tmp, "site")
    site.owned = tmp
    return site
