"""Identity, tenants and limits: confidential contracts are seen only by their owners.

    credentials.py  API keys (hashed) and their roles (member, viewer), the signing secret, in
                    Redis; revocation
    identity.py     who is asking: admin token, API key, stream token, session cookie; CSRF;
                    a viewer's changes refused (403 ``read_only_key``)
    limits.py       request rates per key (a Redis GCRA script)
    bootstrap.py    the local default: an admin token and a ``local`` tenant's key under var/
    hosts.py        the Host allow-list (``ALLOWED_HOSTS``; loopback names with AUTH=false), the
                    Origin of AUTH=false changes (cross-site forms, DNS rebinding), no redirects

Every route but the health checks, the dashboard's files and the login needs a key or a session
(each route declares which: ``service.endpoints``); another tenant's job, workspace or document
answers 404 exactly as a missing one does, because each read asks within the caller's tenant.
"""
