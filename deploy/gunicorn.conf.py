"""gunicorn for Liaison behind the TLS proxy (deploy/nginx-liaison.conf): `gunicorn -c deploy/gunicorn.conf.py liaison.wsgi`.

Threads, not only processes: an evidence upload streams for as long as the client sends (up to
LIAISON_EVIDENCE_MAX_BYTES), and a download for as long as it reads; a thread waiting on a slow client does not
hold a whole process. Each process holds the signing identity and fonts once.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8001")
workers = int(os.environ.get("GUNICORN_WORKERS", str(min(multiprocessing.cpu_count() * 2 + 1, 9))))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# Long enough for a 512 MiB upload from a slow office line (the proxy's own timeouts match).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "600"))
graceful_timeout = 30
keepalive = 5
# A fresh process now and then: memory a long-lived process gathers (PDF rendering for previews) is given back.
max_requests = 2000
max_requests_jitter = 200
# Django reads X-Forwarded-Proto itself (BEHIND_TLS_PROXY) and X-Forwarded-For past LIAISON_TRUSTED_PROXIES;
# gunicorn's own handling of them is limited to the proxy on this host.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = "-"
errorlog = "-"
# No query strings in the access log: search terms can name people or channels.
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s"'
# Upload temporary files go to FILE_UPLOAD_TEMP_DIR (Django), never to gunicorn's memory.
limit_request_line = 8190
