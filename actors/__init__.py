"""The service's broker, built once: importing this package configures Dramatiq and declares every
job type. That is what ``dramatiq actors`` and ``periodiq actors`` import, and what the web side
(``service.app``) uses to enqueue jobs; it is the only work this project does at import time.

    jobs/        the job engine: states, store, middleware, maintenance; no word of contracts
    contracts/   the contract domain: documents, scoring, auditing, the LLM; uses the engine

Documents are parsed by ``extraction`` (a package of its own, knowing neither), in child processes.

Each layer's settings are read here, once, from the environment. The engine's parts and the
domain's resources are handed to whatever needs them; code running inside a worker finds them
through the broker (``JobEngine.of(broker)``, ``ContractResources.of(broker)``).
"""

from __future__ import annotations

import dramatiq

from .contracts.resources import ContractResources
from .contracts.settings import ContractSettings
from .jobs.engine import JobEngine
from .jobs.settings import JobSettings

#: What a snapshot calls a job's group: this service groups its jobs by workspace, and its
#: clients read the group as ``workspace`` (and stream it at ``/workspaces/<name>/events``).
GROUP_FIELD = "workspace"

engine = JobEngine(JobSettings.from_env(), group_field=GROUP_FIELD)
resources = ContractResources.build(engine.client, ContractSettings.from_env())
engine.broker.add_middleware(resources)
broker = engine.broker
dramatiq.set_broker(broker)

# Declaring an actor needs the broker above.
from .contracts import intake  # noqa: E402
from .contracts import jobs as contract_jobs  # noqa: E402
from .jobs import maintenance  # noqa: E402

engine.declare_plugins()

__all__ = ["GROUP_FIELD", "broker", "contract_jobs", "engine", "intake", "maintenance", "resources"]
