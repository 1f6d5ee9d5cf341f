"""What contract jobs need at run time, carried on the broker: the documents and the LLM config.

``actors/__init__.py`` builds one ``ContractResources`` from the engine's Redis client and the
domain's settings and adds it to the broker; the actors and their request-time checks find it
with ``ContractResources.of(broker)``, the way the engine's own code finds the engine.
"""

from __future__ import annotations

import threading

import redis

from actors.jobs.engine import BrokerContext

from .documents import DocumentStore
from .llm import LLMConfig
from .settings import ContractSettings


class ContractResources(BrokerContext):
    def __init__(self, *, documents: DocumentStore, llm: LLMConfig, readers: int = 2) -> None:
        self.documents = documents
        self.llm = llm
        #: How many documents this process reads at once, across its threads (each child may map
        #: ``EXTRACT_MEMORY_BYTES``, so this bounds the memory reading can take).
        self.readers = threading.BoundedSemaphore(readers)
        self.reader_count = readers

    @classmethod
    def build(cls, client: redis.Redis, settings: ContractSettings) -> ContractResources:
        return cls(
            documents=DocumentStore(client=client, settings=settings),
            llm=LLMConfig.from_settings(settings),
            readers=settings.extract_concurrency,
        )
