"""The engine's Lua scripts: one file an operation, in ``lua/``, loaded by glob.

Each file opens with what it does, the ``KEYS`` it is handed (every key it touches, as Redis
requires) and its ``ARGV``, and what it answers. The scripts that change a job live in
``lua/change/``: each is run after that folder's ``_shared.lua`` (the record's reading and
writing, its logs, indexes and wake-ups), and takes the change as one JSON argument.

``register(client)`` gives each script by its file's name (``"claim"``, ``"renew_leases"``), as
redis-py ``Script`` objects: run by their SHA, loaded into Redis on first use; ``run_async`` runs
one on an asyncio client (the web's) the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import redis
import redis.asyncio as aioredis
from redis.commands.core import Script

LUA = Path(__file__).with_name("lua")
#: The scripts that change a job, and the part they share.
CHANGES = LUA / "change"
SHARED = CHANGES / "_shared.lua"


def sources() -> dict[str, str]:
    """Every script's source by name: the job changes with their shared part first."""
    shared = SHARED.read_text()
    found = {path.stem: path.read_text() for path in sorted(LUA.glob("*.lua"))}
    for path in sorted(CHANGES.glob("[!_]*.lua")):
        found[path.stem] = f"{shared}\n{path.read_text()}"
    return found


def register(client: redis.Redis) -> dict[str, Script]:
    """Every script, ready to run on ``client``: ``register(client)["claim"](keys=..., args=...)``."""
    return {name: client.register_script(source) for name, source in sources().items()}


async def run_async(client: aioredis.Redis, script: Script, keys: list[str], args: list[str | bytes]) -> Any:
    """``script`` on an asyncio client: by its SHA, loaded with its source when Redis lacks it."""
    try:
        return await client.evalsha(script.sha, len(keys), *keys, *args)
    except redis.exceptions.NoScriptError:
        return await client.eval(script.script, len(keys), *keys, *args)
