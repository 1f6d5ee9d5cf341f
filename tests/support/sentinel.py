"""A Redis primary, its replica and three Sentinels on loopback, for failover rehearsals.

``SentinelGroup`` starts them, waits until every Sentinel knows the replica and the other two
(so a failover can be voted), and gives what the service's processes need (``settings()``: the
``REDIS_SENTINELS`` and ``REDIS_URL`` they start with). ``kill_primary()`` SIGKILLs the primary;
``promoted()`` waits for the Sentinels to name the replica in its place.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

import redis

from .servers import RedisServer, free_port, redis_server_binary, wait_until

SERVICE = "mymaster"
SENTINELS = 3
QUORUM = 2
#: How long a primary may be silent before a Sentinel calls it down (the rehearsal's pace).
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 5000


class ReplicaServer(RedisServer):
    """A ``redis-server`` replicating ``primary``, ready once in sync with it."""

    def __init__(self, primary: RedisServer) -> None:
        super().__init__()
        self.primary = primary

    def extra_args(self) -> list[str]:
        return ["--replicaof", "127.0.0.1", str(self.primary.port)]

    def _ready(self) -> bool:
        try:
            return self.client().info("replication").get("master_link_status") == "up"
        except redis.exceptions.ConnectionError:
            return False


class SentinelGroup:
    def __init__(self) -> None:
        self.primary = RedisServer()
        self.replica = ReplicaServer(self.primary)
        self.sentinel_ports = [free_port() for _ in range(SENTINELS)]
        self.sentinels: list[subprocess.Popen[bytes]] = []
        self.dir = Path(tempfile.mkdtemp(prefix="jobs-test-sentinel-"))

    def start(self) -> None:
        self.primary.start()
        self.replica.start()
        for port in self.sentinel_ports:
            config = self.dir / f"sentinel-{port}.conf"  # a Sentinel rewrites its own file
            config.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {self.dir}\n"
                f"sentinel monitor {SERVICE} 127.0.0.1 {self.primary.port} {QUORUM}\n"
                f"sentinel down-after-milliseconds {SERVICE} {DOWN_AFTER_MS}\n"
                f"sentinel failover-timeout {SERVICE} {FAILOVER_TIMEOUT_MS}\n"
            )
            self.sentinels.append(
                subprocess.Popen(
                    [redis_server_binary(), str(config), "--sentinel"],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        wait_until(self._ready, timeout=30, what="three Sentinels that know the replica and each other")

    def stop(self) -> None:
        for process in self.sentinels:
            process.kill()
            process.wait()
        self.replica.stop()
        self.primary.stop()

    def settings(self) -> dict[str, str]:
        """The environment of a process of the service that reaches Redis through the Sentinels."""
        return {
            "REDIS_SENTINELS": ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports),
            "REDIS_SENTINEL_SERVICE": SERVICE,
        }

    def primary_port(self) -> int | None:
        """The primary's port as a majority of the Sentinels names it (None while they disagree)."""
        named = [self._named(port) for port in self.sentinel_ports]
        for candidate in set(named):
            if candidate is not None and named.count(candidate) >= QUORUM:
                return candidate
        return None

    def kill_primary(self) -> float:
        """SIGKILL the primary; returns when (``time.monotonic()``)."""
        self.primary.stop()
        return time.monotonic()

    def promoted(self, *, timeout: float) -> float:
        """Wait until the Sentinels name the replica as the primary and it takes writes; when."""
        wait_until(
            lambda: self.primary_port() == self.replica.port and self._writable(),
            timeout=timeout,
            what="the replica promoted",
            interval=0.02,
        )
        return time.monotonic()

    def _writable(self) -> bool:
        return self.replica.client().info("replication").get("role") == "master"

    def _named(self, port: int) -> int | None:
        try:
            address = self._sentinel(port).sentinel_get_master_addr_by_name(SERVICE)
        except redis.exceptions.ConnectionError:
            return None
        return int(address[1]) if address else None

    def _ready(self) -> bool:
        for port in self.sentinel_ports:
            try:
                master = self._sentinel(port).sentinel_master(SERVICE)
                replicas = self._sentinel(port).sentinel_slaves(SERVICE)
            except redis.exceptions.ConnectionError:
                return False
            if master.get("num-other-sentinels") != SENTINELS - 1 or not replicas:
                return False
        return True

    @staticmethod
    def _sentinel(port: int) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1, socket_timeout=1)
