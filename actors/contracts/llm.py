"""The optional LLM scorer: any OpenAI-compatible chat-completions endpoint (ChatGPT, Ollama, vLLM).

Configured by ``LLM_BASE_URL`` (e.g. ``https://api.openai.com/v1`` or ``http://localhost:11434/v1``),
``LLM_MODEL`` and ``LLM_API_KEY``. It is only ever called for a job whose request said
``share_data_with_chatgpt: true``; the caller enforces that, and nothing here sends text on its own.

Timeouts, 429s and 5xx answers are retried with exponential backoff (``Retry-After`` is honoured)
and each wait is reported through ``on_retry`` ("retrying in 8 s: rate limited"), so a job never
hangs silently. Anything else — another 4xx, a reply without a usable score — raises ``LLMError``.

An ``LLMError``'s message becomes the job's public error, so it says only what the user can act
on ("authentication failed at the LLM endpoint (401)", "rate limited"); what the endpoint said
(its error body may quote the API key, its reply may echo other text) is logged in full on the
``contracts.llm`` logger, server-side only.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from .errors import LLMError
from .settings import ContractSettings

#: Longest wait between two tries, in seconds.
MAX_BACKOFF_S = 60.0
SYSTEM_PROMPT = (
    "You review contracts. Score how well the contract meets the criterion, from 0 to the maximum "
    'score given. Answer with JSON only: {"score": <number>, "reason": "<one sentence>"}.'
)
_JSON_OBJECT = re.compile(r"\{.*\}", re.DOTALL)
#: What a refusal means to the user, by the endpoint's status code.
_REFUSALS = {
    401: "authentication failed at the LLM endpoint",
    403: "the LLM endpoint denied access to the model",
    404: "the LLM endpoint has no such model or path",
    413: "the request was too large for the LLM endpoint",
}

logger = logging.getLogger("contracts.llm")


@dataclass(frozen=True, slots=True)
class LLMConfig:
    base_url: str
    model: str
    api_key: str
    timeout: float
    max_retries: int
    retry_base: float
    max_chars: int

    @classmethod
    def from_settings(cls, settings: ContractSettings) -> LLMConfig:
        return cls(
            base_url=settings.llm_base_url,
            model=settings.llm_model,
            api_key=settings.llm_api_key.get_secret_value(),
            timeout=settings.llm_timeout,
            max_retries=settings.llm_max_retries,
            retry_base=settings.llm_retry_base,
            max_chars=settings.llm_max_chars,
        )

    @property
    def configured(self) -> bool:
        return bool(self.base_url and self.model)


@dataclass(frozen=True, slots=True)
class LLMScore:
    score: float
    reason: str


class LLMScorer:
    def __init__(self, *, config: LLMConfig, on_retry: Callable[[str], None] = lambda message: None) -> None:
        if not config.configured:
            raise LLMError("No LLM endpoint is configured (set LLM_BASE_URL and LLM_MODEL)")
        self.config = config
        self.on_retry = on_retry

    def score(self, *, criterion: str, contract_text: str, max_score: int) -> LLMScore:
        body = {
            "model": self.config.model,
            "temperature": 0,
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT},
                {
                    "role": "user",
                    "content": f"Criterion: {criterion}\nMaximum score: {max_score}\n\nContract:\n"
                    + contract_text[: self.config.max_chars],
                },
            ],
        }
        return _parse_score(self._post(body), max_score)

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.config.api_key}"} if self.config.api_key else {}
        url = f"{self.config.base_url}/chat/completions"
        for attempt in range(self.config.max_retries + 1):
            retry_after: float | None = None
            try:
                response = httpx.post(url, json=body, headers=headers, timeout=self.config.timeout)
            except httpx.TimeoutException:
                reason = f"no answer within {self.config.timeout:g} s"
            except httpx.TransportError as exc:
                logger.warning("LLM endpoint %s unreachable: %r", url, exc)
                reason = "endpoint unreachable"
            else:
                if response.status_code == 200:
                    try:
                        return response.json()
                    except ValueError:
                        logger.warning("LLM endpoint answered non-JSON: %r", response.text[:2000])
                        raise LLMError("The LLM endpoint's answer is not JSON") from None
                if response.status_code == 429:
                    reason = "rate limited"
                    retry_after = _seconds(response.headers.get("Retry-After"))
                elif response.status_code >= 500:
                    reason = f"server error {response.status_code}"
                else:
                    logger.warning(
                        "LLM endpoint refused the request: %s %s", response.status_code, response.text[:2000]
                    )
                    refusal = _REFUSALS.get(response.status_code, "the LLM endpoint refused the request")
                    raise LLMError(f"{refusal[0].upper()}{refusal[1:]} ({response.status_code})")
            if attempt == self.config.max_retries:
                tries = f"{attempt + 1} time{'' if attempt == 0 else 's'}"
                raise LLMError(f"The LLM endpoint failed {tries}; last: {reason}")
            delay = min(
                MAX_BACKOFF_S, retry_after if retry_after is not None else self.config.retry_base * 2**attempt
            )
            self.on_retry(f"retrying in {delay:g} s: {reason}")
            time.sleep(delay)
        raise AssertionError("unreachable")


def _parse_score(reply: dict[str, Any], max_score: int) -> LLMScore:
    try:
        content = reply["choices"][0]["message"]["content"]
        match = _JSON_OBJECT.search(content)
        parsed = json.loads(match.group(0)) if match else None
        score = parsed["score"] if isinstance(parsed, dict) else None
    except (KeyError, IndexError, TypeError, ValueError):
        score, parsed = None, None
    if isinstance(score, bool) or not isinstance(score, int | float) or not 0 <= score <= max_score:
        logger.warning("LLM reply without a usable score: %s", str(reply)[:2000])
        raise LLMError(f'The LLM reply has no score from 0 to {max_score} as {{"score": <number>}}')
    reason = parsed.get("reason") if isinstance(parsed, dict) else None
    return LLMScore(score=float(score), reason=str(reason or ""))


def _seconds(header: str | None) -> float | None:
    try:
        return max(0.0, float(header)) if header else None
    except ValueError:
        return None
