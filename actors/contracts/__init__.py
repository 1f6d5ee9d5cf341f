"""The contract domain: workspaces of contract documents, and the jobs that score and audit them.

It uses the job engine (``actors.jobs``) and the engine never imports it.

    settings.py   ContractSettings: document limits, the LLM endpoint
    errors.py     the domain's exception tree
    extract.py    text from .txt, .md, .pdf (pypdf), .docx (python-docx)
    documents.py  DocumentStore: workspaces of documents in Redis, all-or-nothing uploads
    clauses.py    contract text as clauses and stemmed terms
    scoring.py    WorkspaceScorer: BM25 over a workspace's clauses, evidence, scores
    audit.py      the checklist, risk flags, custom checklists
    llm.py        the optional OpenAI-compatible LLM scorer, with retries
    resources.py  ContractResources: the documents and LLM config, carried on the broker
    jobs.py       score_contracts and audit_contracts, grouped by workspace
"""
