# Liaison: `make run` starts the whole system on embedded defaults, `make test` runs the suite.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test install lint typecheck perf bench loadtest messages clean-var backup restore-drill

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,dev]'
	touch $(STAMP)

install: $(STAMP)

# The demo: production settings (no technical error pages) over plain HTTP on 127.0.0.1, MFA optional, SQLite and
# files under var/, kombu's filesystem broker, a secret key generated once into var/secret_key (and the key that
# encrypts webhook signing secrets into var/webhook_secret_key).
run: export DEBUG ?= false
run: export LIAISON_LOCAL_HTTP ?= true
run: export ALLOWED_HOSTS ?= 127.0.0.1,localhost
run: export SECRET_KEY_FILE ?= var/secret_key
run: export LIAISON_WEBHOOK_SECRET_KEY_FILE ?= var/webhook_secret_key
run: export LIAISON_REQUIRE_MFA ?= false
run: export LIAISON_WEBHOOKS_ALLOW_LOCAL_HTTP ?= true
run: $(STAMP)
	mkdir -p var/celery/queue var/celery/control var/files var/mail
	test -s var/secret_key || (umask 077 && $(PY) -c "import secrets; print(secrets.token_urlsafe(50))" > var/secret_key)
	test -s var/webhook_secret_key || (umask 077 && $(PY) -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())" > var/webhook_secret_key)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py seed_demo
	$(VENV)/bin/honcho -f Procfile.dev start

# Two workers by default (pytest-xdist); PYTEST_WORKERS=0 runs in one process.
PYTEST_WORKERS ?= auto
test: $(STAMP)
	$(VENV)/bin/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

# ruff (style and bugs), mypy with django-stubs (types), import-linter (the layers of docs/architecture.md).
lint: export DEBUG ?= true
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy accounts cases liaison outbox api exports webhooks stats
	$(VENV)/bin/lint-imports

typecheck: export DEBUG ?= true
typecheck: $(STAMP)
	$(VENV)/bin/mypy accounts cases liaison outbox api exports webhooks stats

# Benchmarks: on demand, not part of `make test`.
perf: $(STAMP)
	$(VENV)/bin/pytest tests/perf -o addopts="" -s $(PYTEST_ARGS)

# The scenarios of docs/performance.md on generated national-scale data in PostgreSQL (generated once; again with
# BENCH_REGENERATE=1): writes var/bench/latest.md and .json. ARGS=--compare also prints the change against the
# previous run; PYTEST_ARGS="-k inbox" runs some scenarios only.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/liaison_bench
bench: $(STAMP)
	BENCH_DATABASE_URL="$(BENCH_DATABASE_URL)" tests/perf/bench.sh $(ARGS) -- $(PYTEST_ARGS)

# The bounded load test (tests/load/): 50 simulated liaisons and moderators for three minutes against gunicorn with
# production settings on loopback, a fresh PostgreSQL database (LOADTEST_DATABASE_URL, default liaison_load) and a
# Celery worker on Redis (CELERY_BROKER_URL); no failed request, nothing lost or doubled, verify_audit intact.
# ARGS="--users 100 --duration 10m" changes the run; logs in var/loadtest/run/.
loadtest: $(STAMP)
	$(PY) tests/load/run.py $(ARGS)

# Management commands need settings; outside production, development defaults do.
messages: export DEBUG ?= true
messages: $(STAMP)
	$(PY) manage.py makemessages -l id --ignore=.venv --ignore=var --ignore=tests
	$(PY) manage.py compilemessages --ignore=.venv

clean-var:
	rm -rf var

# Production (docs/deploy.md, with the application's environment loaded): a backup run into BACKUP_DIR, and the
# restore drill of one, e.g. make restore-drill BACKUP=/var/backups/liaison/20261203T013000Z.
backup:
	deploy/backup.sh

restore-drill:
	deploy/restore-drill.sh $(BACKUP)
