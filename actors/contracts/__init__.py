"""The contract domain: workspaces of contract documents, and the jobs that score and audit them.

It uses the job engine (``actors.jobs``) and the engine never imports it.

    settings.py   ContractSettings: document limits, the LLM endpoint
    errors.py     the domain's exception tree
    extract.py    text from .txt, .md, .pdf (pypdf), .docx (python-docx)
    keys.py       every Redis key of the domain
    staging.py    StagingArea: uploads checked, hashed, stored once, read by a worker
    documents.py  DocumentStore: workspaces of documents in Redis (a StagingArea, plus the reading side)
    intake.py     receive_upload() and the extract_documents job that reads each staged file
    vocabulary.py stop words and synonyms of contract English
    clauses.py    contract text as clauses (with their place in the document) and stemmed terms
    weights.py    term weights from the reference corpus shipped in reference/
    quantities.py periods, percentages and sums of money, with their bounds
    polarity.py   denials, exceptions and discretion
    structure.py  what a passage is: table of contents, heading, definition, preamble or clause
    classifier.py the learned clause classifier (CUAD v1, The Atticus Project, CC BY 4.0)
    categories.py the 41 CUAD clause types as checklist items; the type a criterion is about
    reading.py    a contract as the classifier reads it: each clause's score for each type
    named.py      places, parties and who holds a right, in a criterion and in a clause
    criteria.py   a criterion as the scorer reads it, and the verdict on one clause
    scoring.py    ContractScorer: each contract judged on its own: verdict, score, reason, evidence
    phrasing.py   pieces of the built-in checks' patterns
    checks.py     the checklist items and risk flags, in their common phrasings
    audit.py      the audit of a contract: checks, CUAD clause types, custom checklists
    llm.py        the optional OpenAI-compatible LLM scorer, with retries
    resources.py  ContractResources: the documents and LLM config, carried on the broker
    jobs.py       score_contracts and audit_contracts, grouped by workspace
"""
