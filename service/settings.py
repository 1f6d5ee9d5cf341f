"""The web side's settings, and the README's configuration tables rendered from every layer's.

Declared like every layer's (see ``actors.jobs.settings``): one line per setting, read once by
``create_app``. ``python -m service.settings`` prints the README's tables; a test keeps the
README equal to them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Self

from pydantic import Field, NonNegativeFloat, NonNegativeInt, PositiveInt, SecretStr, model_validator
from pydantic_settings import NoDecode

from actors.contracts.settings import ContractSettings
from actors.jobs.settings import MIB, EnvSettings, JobSettings, comma_separated, markdown_table, setting

#: The shortest admin token accepted: it opens every tenant's keys, so it must not be guessable.
MIN_ADMIN_TOKEN_CHARS = 32


class WebSettings(EnvSettings):
    """The web process: event streams, the sync path, its Redis pool, uploads and CORS."""

    sse_heartbeat_interval: NonNegativeFloat = setting(
        15.0, "time between `: keepalive` comments on an idle stream", unit="s"
    )
    sse_retry_ms: NonNegativeInt = setting(
        3000, "the `retry:` a stream sends: how long a browser waits to reconnect", unit="ms"
    )
    sse_queue_size: Annotated[int, Field(ge=1)] = setting(
        256, "events buffered per stream before a client that stopped reading is dropped", unit="events"
    )
    sse_send_timeout: NonNegativeFloat = setting(
        30.0, "how long a stream waits for its client to take data before dropping it", unit="s"
    )
    sse_max_life: NonNegativeFloat = setting(
        600.0,
        "how long a stream lives before it asks its client to reconnect (plus ≤ 10 % jitter)",
        unit="s",
    )
    sync_wait_limit: NonNegativeFloat = setting(
        90.0, "how long `async_mode=false` waits for the job before answering 202", unit="s"
    )
    redis_pool_size: Annotated[int, Field(ge=1)] = setting(
        16, "Redis connections per web process for reads (streams hold none while idle)"
    )
    max_upload_bytes: NonNegativeInt = setting(
        50 * MIB, "largest upload request (JSON bodies: 1 MiB)", unit="bytes"
    )
    cors_origins: Annotated[tuple[str, ...], NoDecode, comma_separated(lambda o: o.strip().rstrip("/"))] = (
        setting((), "origins allowed to call the API from a browser, comma-separated (`*`: any)")
    )
    cors_credentials: bool = setting(False, "`true`: allow cookies on cross-origin calls and streams")
    auth: bool = setting(True, "`false` (loopback binds only): no keys, every caller is tenant `local`")
    admin_token: SecretStr = setting(
        SecretStr(""), "the admin's bearer token (empty: made once and kept in `STATE_DIR/admin-token`)"
    )
    secret_key: SecretStr = setting(
        SecretStr(""), "signs session cookies and stream tokens (empty: made once and kept in Redis)"
    )
    state_dir: Path = setting(Path("var"), "where the local set-up keeps the admin token and the local key")
    session_cookie_secure: bool = setting(True, "`false`: send the session cookie over plain HTTP too")
    session_lifetime: PositiveInt = setting(30 * 24 * 3600, "how long a browser stays logged in", unit="s")
    stream_token_ttl: Annotated[float, Field(gt=0, le=300)] = setting(
        300.0, "how long a stream token is valid (at most 300)", unit="s"
    )
    rate_limit_per_minute: NonNegativeInt = setting(
        1200, "requests one key may make a minute, in bursts up to that (0: no limit; 429 above)"
    )
    max_streams_per_key: NonNegativeInt = setting(
        200, "open event streams one key may hold in each web process (0: no limit; 429 above)"
    )
    max_streams: NonNegativeInt = setting(
        20_000, "open event streams and long-polls one web process holds at most (0: no limit; 429 above)"
    )
    auth_failures_per_minute: NonNegativeInt = setting(
        30, "failed authentications one client may make a minute before it is refused (0: no limit; 429)"
    )

    allowed_hosts: Annotated[
        tuple[Annotated[str, Field(pattern=r"^(\*|\.?[a-z0-9-]+(\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])$")], ...],
        NoDecode,
        comma_separated(lambda host: host.strip().lower().rstrip(".")),
    ] = setting(
        (),
        "`Host` names served, comma-separated, any port (`.example.com`: and its subdomains; `*`: any); "
        "empty: any, but with `AUTH=false` `localhost`, `127.0.0.1`, `[::1]` only (400 others)",
    )
    proxy_hops: NonNegativeInt = setting(
        0,
        "proxies in front whose `X-Forwarded-For` and `X-Forwarded-Proto` name the client's address and "
        "scheme (0: trust none; one nginx in front: 1)",
    )

    @model_validator(mode="after")
    def _admin_token_long_enough(self) -> Self:
        token = self.admin_token.get_secret_value()
        if token and len(token) < MIN_ADMIN_TOKEN_CHARS:
            raise ValueError(
                f"ADMIN_TOKEN has {len(token)} character{'' if len(token) == 1 else 's'}; it needs at least "
                f"{MIN_ADMIN_TOKEN_CHARS} "
                "(make one with: openssl rand -hex 32)"
            )
        return self

    @model_validator(mode="after")
    def _exact_origins_with_credentials(self) -> Self:
        if self.cors_credentials and "*" in self.cors_origins:
            raise ValueError(
                "CORS_ORIGINS=* with CORS_CREDENTIALS=true would let any site act as a logged-in user; "
                "list the frontend's exact origins"
            )
        return self


#: The README's configuration tables: each layer's settings under the module that declares them.
LAYERS = (
    ("Job engine", "actors/jobs/settings.py", JobSettings),
    ("Contracts", "actors/contracts/settings.py", ContractSettings),
    ("Web", "service/settings.py", WebSettings),
)


def readme_tables() -> str:
    return "\n\n".join(f"{title} (`{path}`):\n\n{markdown_table(cls)}" for title, path, cls in LAYERS)


if __name__ == "__main__":
    print(readme_tables())
