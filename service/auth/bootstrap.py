"""The local default: with nothing configured, the service still starts secure and usable.

When ``ADMIN_TOKEN`` is not set, the admin token is read from ``<STATE_DIR>/admin-token``, or made
and written there (readable by its owner only). When, moreover, no tenant has a key yet, a key of
the ``local`` tenant is made and written to ``<STATE_DIR>/local-key``, documents stored before
tenants existed are moved into that tenant, and the web process logs a login URL (as Jupyter
prints its token URL): the key rides in the URL's fragment, which the browser never sends, and
the dashboard trades it for a session cookie at once. With ``ADMIN_TOKEN`` set (a real
deployment), nothing is made: its operator creates tenants' keys with the admin token.

``python -m service.auth.bootstrap REDIS_URL`` tells ``deploy/stack.py`` whose that Redis is, as
seen from this clone's ``<STATE_DIR>/local-key``: ``ours`` (the key is one of its keys), ``empty``
(no tenant has a key there yet) or ``foreign`` (tenants this clone did not make), then why, then
the state folder.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import secrets
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import redis.asyncio as aioredis

from actors.contracts.documents import DocumentStore

from .credentials import Credentials
from .identity import LOCAL_TENANT

logger = logging.getLogger("jobs.auth")

ADMIN_TOKEN_FILE = "admin-token"
LOCAL_KEY_FILE = "local-key"
#: Seconds the owner check waits for Redis.
CHECK_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class LocalSetUp:
    admin_token: str
    #: The ``local`` tenant's key when this start made or found one, for the login URL.
    local_key: str | None = None


async def local_set_up(
    *, state_dir: Path, admin_token: str, credentials: Credentials, documents: DocumentStore
) -> LocalSetUp:
    """The admin token to use, making the local defaults described above where they are missing."""
    if admin_token:
        return LocalSetUp(admin_token)
    token = _read_or_write(state_dir / ADMIN_TOKEN_FILE, lambda: secrets.token_urlsafe(32))
    key_file = state_dir / LOCAL_KEY_FILE
    known = key_file.read_text().strip() if key_file.exists() else None
    if known is not None and await credentials.verify(known) is not None:
        return LocalSetUp(token, known)
    if await credentials.any_key() or not await credentials.claim_first_start():
        return LocalSetUp(token)  # tenants exist (or another process is making the first one)
    _, secret = await credentials.create(LOCAL_TENANT)
    _write_private(key_file, secret)
    moved = await asyncio.to_thread(documents.adopt_unowned, LOCAL_TENANT)
    logger.warning(
        "Made the %r tenant's key (in %s) and the admin token (in %s)%s",
        LOCAL_TENANT,
        key_file,
        state_dir / ADMIN_TOKEN_FILE,
        f"; moved {moved} earlier workspace{'' if moved == 1 else 's'} into it" if moved else "",
    )
    return LocalSetUp(token, secret)


def _read_or_write(path: Path, make: Callable[[], str]) -> str:
    if path.exists():
        return path.read_text().strip()
    value = make()
    _write_private(path, value)
    return value


def _write_private(path: Path, value: str) -> None:
    """Write ``value`` to ``path`` readable by its owner only (made so before anything is in it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(value + "\n")


async def whose_redis(credentials: Credentials, state_dir: Path) -> tuple[str, str]:
    """``ours``, ``empty`` or ``foreign`` (see the module's docstring), and a phrase saying why."""
    key_file = state_dir / LOCAL_KEY_FILE
    known = key_file.read_text().strip() if key_file.exists() else None
    if known and await credentials.verify(known) is not None:
        return "ours", f"{key_file} is one of its keys"
    tenants = await credentials.tenants()
    if not tenants:
        return "empty", "no tenant has a key there yet"
    held = f"{key_file} is none of their keys" if known else f"this clone has no {key_file}"
    return "foreign", f"it holds {len(tenants)} tenant(s) this clone did not make; {held}"


async def _check(redis_url: str, state_dir: Path) -> tuple[str, str]:
    client = aioredis.Redis.from_url(
        redis_url, socket_connect_timeout=CHECK_TIMEOUT_S, socket_timeout=CHECK_TIMEOUT_S
    )
    try:
        return await whose_redis(Credentials(client=client), state_dir)
    finally:
        await client.aclose()


def main(argv: list[str] | None = None) -> int:
    from ..settings import WebSettings  # the web's settings say where the state is kept

    parser = argparse.ArgumentParser(
        prog="python -m service.auth.bootstrap", description="Whose is this Redis: ours, empty or foreign."
    )
    parser.add_argument("redis_url")
    args = parser.parse_args(argv)
    state_dir = WebSettings.from_env().state_dir
    verdict, why = asyncio.run(_check(args.redis_url, state_dir))
    print(verdict)
    print(why)
    print(state_dir)  # where the stack's key command reads the admin token and writes the key
    return 0


if __name__ == "__main__":
    sys.exit(main())
