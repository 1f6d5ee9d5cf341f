"""The contract domain's settings: document limits, extraction limits and the optional LLM scorer.

Declared like every layer's (see ``actors.jobs.settings``): one line per setting, read once by
``actors/__init__.py``.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, NonNegativeFloat, NonNegativeInt, PositiveFloat, PositiveInt, SecretStr

from actors.jobs.settings import MIB, EnvSettings, setting
from extraction import (
    DEFAULT_CPU_SECONDS,
    DEFAULT_MAX_CHARS,
    DEFAULT_MAX_PAGES,
    DEFAULT_MAX_UNZIPPED_BYTES,
    DEFAULT_MAX_ZIP_RATIO,
    DEFAULT_MEMORY_BYTES,
    DEFAULT_TIMEOUT,
)


class ContractSettings(EnvSettings):
    """Contracts: what a tenant may store and for how long, and which LLM endpoint compares scores."""

    max_document_bytes: NonNegativeInt = setting(
        10 * MIB, "largest contract file accepted (413 above)", unit="bytes"
    )
    max_filename_chars: NonNegativeInt = setting(
        255, "longest filename accepted (413 above)", unit="characters"
    )
    max_files_per_upload: PositiveInt = setting(
        100, "files one upload may hold (413 above; each file is read in a child process of its own)"
    )
    max_documents_per_tenant: NonNegativeInt = setting(10_000, "documents one tenant may store (413 above)")
    max_bytes_per_tenant: NonNegativeInt = setting(
        1024 * MIB, "bytes of uploaded files one tenant may store (413 above)", unit="bytes"
    )
    max_workspaces_per_tenant: NonNegativeInt = setting(100, "workspaces one tenant may have (413 above)")
    extract_cpu_seconds: PositiveFloat = setting(
        DEFAULT_CPU_SECONDS, "CPU time the process reading one document may use before it is killed", unit="s"
    )
    extract_memory_bytes: PositiveInt = setting(
        DEFAULT_MEMORY_BYTES, "memory (address space) the process reading one document may map", unit="bytes"
    )
    extract_timeout: PositiveFloat = setting(
        DEFAULT_TIMEOUT,
        "wall-clock time reading one document may take before its process is killed",
        unit="s",
    )
    extract_concurrency: PositiveInt = setting(
        2, "documents one worker process reads at once (each in its own child process)"
    )
    max_document_pages: PositiveInt = setting(DEFAULT_MAX_PAGES, "pages a PDF may have (refused above)")
    max_document_chars: PositiveInt = setting(
        DEFAULT_MAX_CHARS, "characters of text a document may yield (refused above)", unit="characters"
    )
    max_docx_unzipped_bytes: PositiveInt = setting(
        DEFAULT_MAX_UNZIPPED_BYTES, "bytes a DOCX's parts may unpack to, in all (refused above)", unit="bytes"
    )
    max_docx_zip_ratio: PositiveInt = setting(
        DEFAULT_MAX_ZIP_RATIO,
        "how many times its packed size a DOCX part over 1 MiB may unpack to (refused above)",
    )
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
