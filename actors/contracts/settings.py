"""The contract domain's settings: document limits and the optional LLM scorer.

Declared like every layer's (see ``actors.jobs.settings``): one line per setting, read once by
``actors/__init__.py``.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, NonNegativeFloat, NonNegativeInt, SecretStr

from actors.jobs.settings import MIB, EnvSettings, setting


class ContractSettings(EnvSettings):
    """Contracts: what a tenant may store and for how long, and which LLM endpoint compares scores."""

    max_document_bytes: NonNegativeInt = setting(
        10 * MIB, "largest contract file accepted (413 above)", unit="bytes"
    )
    max_filename_chars: NonNegativeInt = setting(
        255, "longest filename accepted (413 above)", unit="characters"
    )
    max_documents_per_tenant: NonNegativeInt = setting(10_000, "documents one tenant may store (413 above)")
    max_bytes_per_tenant: NonNegativeInt = setting(
        1024 * MIB, "bytes of uploaded files one tenant may store (413 above)", unit="bytes"
    )
    max_workspaces_per_tenant: NonNegativeInt = setting(100, "workspaces one tenant may have (413 above)")
    document_ttl: NonNegativeInt = setting(
        30 * 24 * 3600, "how long an uploaded document's text is kept (0: until deleted)", unit="s"
    )
    llm_base_url: Annotated[str, AfterValidator(lambda url: url.strip().rstrip("/"))] = setting(
        "", "OpenAI-compatible endpoint, e.g. `https://api.openai.com/v1`, `http://localhost:11434/v1`"
    )
    llm_model: str = setting("", "the model the LLM endpoint runs")
    llm_api_key: SecretStr = setting(
        SecretStr(""), "bearer key for the LLM endpoint (none for a local server)"
    )
    llm_timeout: NonNegativeFloat = setting(60.0, "how long one LLM request may take", unit="s")
    llm_max_retries: NonNegativeInt = setting(4, "retries after an LLM timeout, 429 or 5xx")
    llm_retry_base: NonNegativeFloat = setting(
        2.0, "first LLM backoff, doubled each retry (max 60 s)", unit="s"
    )
    llm_max_chars: NonNegativeInt = setting(20_000, "characters of a contract sent to the LLM")
