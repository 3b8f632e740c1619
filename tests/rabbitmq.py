"""A RabbitMQ node of the tests' own: Debian's rabbitmq-server, on free loopback ports, in a temporary folder.

Production points `broker_url` at an existing RabbitMQ; the tests start one
the way they start Redis, so they meet no broker the machine already runs.
Its AMQP listener, its Erlang distribution port and its port mapper (epmd)
are bound to 127.0.0.1; no plugins; a user and password generated here.
"""

from __future__ import annotations

import os
import random
import secrets
import signal
import subprocess
import time
from pathlib import Path

from storage.stack import LOOPBACK, port_open

# Debian's package puts the server script here; /usr/sbin/rabbitmq-server would switch to the rabbitmq user.
SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")


def free_port(start: int) -> int:
    """The first loopback port from `start` that nothing listens on."""
    for port in range(start, start + 500):
        if not port_open(port):
            return port
    raise RuntimeError("no free loopback port for RabbitMQ")


class RabbitMQ:
    """One node: `start()` waits until it takes AMQP connections; `url` reaches it; `stop()` ends it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.user, self.password = "sohoa", secrets.token_urlsafe(18)
        self.amqp_port = free_port(random.randint(31000, 39000))
        self.dist_port = free_port(self.amqp_port + 1)
        self.epmd_port = free_port(self.dist_port + 1)
        self.log = folder / "rabbitmq.log"
        self.processes: list[subprocess.Popen] = []

    @property
    def url(self) -> str:
        return f"amqp://{self.user}:{self.password}@{LOOPBACK}:{self.amqp_port}/%2F"

    def start(self, seconds: float = 90) -> None:
        if not SERVER.exists():
            raise RuntimeError(f"{SERVER} not found: apt-get install rabbitmq-server (scripts/test does)")
        self.folder.mkdir(parents=True, exist_ok=True)
        config = self.folder / "rabbitmq.conf"
        config.touch(mode=0o600)
        config.write_text(f"listeners.tcp.1 = {LOOPBACK}:{self.amqp_port}\n"
                          f"default_user = {self.user}\ndefault_pass = {self.password}\n")
        (self.folder / "enabled_plugins").write_text("[].\n")
        env = {
            **os.environ, "HOME": str(self.folder),  # its Erlang cookie
            "RABBITMQ_NODENAME": f"sohoa-test-{self.amqp_port}@localhost",
            "RABBITMQ_CONF_ENV_FILE": "/dev/null",  # not the machine's rabbitmq-env.conf
            "RABBITMQ_CONFIG_FILE": str(config), "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.folder / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(self.folder / "mnesia"), "RABBITMQ_LOG_BASE": str(self.folder / "log"),
            "RABBITMQ_DIST_PORT": str(self.dist_port), "ERL_EPMD_PORT": str(self.epmd_port),
            "ERL_EPMD_ADDRESS": LOOPBACK,
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        }
        with open(self.log, "ab") as log:
            # The port mapper first, as a child of ours (erl would leave a daemon behind).
            self.processes.append(subprocess.Popen(["epmd"], env=env, stdout=log,
                                                   stderr=subprocess.STDOUT, start_new_session=True))
            self.processes.append(subprocess.Popen([str(SERVER)], env=env, stdout=log, stderr=subprocess.STDOUT,
                                                   stdin=subprocess.DEVNULL, start_new_session=True))
        deadline = time.monotonic() + seconds
        while not port_open(self.amqp_port):
            if any(p.poll() is not None for p in self.processes) or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"RabbitMQ did not start: {self.log.read_text()[-2000:]}")
            time.sleep(0.2)

    def stop(self) -> None:
        for process in reversed(self.processes):  # the node, then its port mapper
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
        self.processes.clear()
