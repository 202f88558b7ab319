"""The production run of docs/deploy.md (issue 14) held against the code: the PostgreSQL roles set up by
deploy/postgresql/ (migrate as the owner, the portal running as a role that owns nothing, backups read by a role
that writes nothing), and the files in deploy/ naming only what exists and settings the portal reads."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection

from tests.cases.conftest import postgresql_only

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"


def server_url(database: str, role: str | None = None) -> str:
    params = connection.settings_dict
    user = role or params.get("USER") or "postgres"
    password = f":{params['PASSWORD']}" if params.get("PASSWORD") and not role else ""
    return f"postgres://{user}{password}@{params.get('HOST') or '127.0.0.1'}:{params.get('PORT') or 5432}/{database}"


def psql(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["psql", "--no-psqlrc", "-X", "-q", "-tA", "--dbname", url, *args], capture_output=True,
                          text=True, timeout=120)


@pytest.fixture
def roles() -> Iterator[dict[str, str]]:
    """Names for the guide's three roles and its database, unique to this run; all dropped afterwards."""
    suffix = uuid.uuid4().hex[:10]
    names = {"owner": f"liaison_owner_{suffix}", "app": f"liaison_app_{suffix}",
             "backup": f"liaison_backup_{suffix}", "database": f"liaison_roles_{suffix}"}
    yield names
    admin = server_url("postgres")
    psql(admin, "-c", f"DROP DATABASE IF EXISTS {names['database']} WITH (FORCE)")
    for role in ("owner", "app", "backup"):
        psql(admin, "-c", f"DROP ROLE IF EXISTS {names[role]}")


@pytest.fixture
def production_environment(tmp_path: Path, signing_identity_files: dict[str, str]) -> dict[str, str]:
    """A production process's environment on this machine: no DEBUG, its own var directory, tasks run in the
    process (no broker shared with the rest of the test run), the test's signing identity."""
    import os

    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("PYTEST", "DJANGO_SETTINGS", "CELERY_", "REDIS_URL", "CACHE_URL"))}
    env.update({
        "DEBUG": "false", "SECRET_KEY": "deploy-rehearsal", "ALLOWED_HOSTS": "localhost",
        "LIAISON_WEBHOOK_SECRET_KEY": "ZHJpbGwtd2ViaG9vay1rZXktbm90LWEtc2VjcmV0ISE=",  # a Fernet key
        "LIAISON_VAR_DIR": str(tmp_path / "var"), "CELERY_BROKER_URL": "filesystem://",
        "CELERY_TASK_ALWAYS_EAGER": "true", "LIAISON_SIGNING_P12": signing_identity_files["p12"],
        "LIAISON_SIGNING_PASSPHRASE": signing_identity_files["passphrase"],
        "LIAISON_SIGNING_CA": signing_identity_files["ca"],
        "LIAISON_SIGNING_DEV_PASSPHRASE_FILE": signing_identity_files["dev_passphrase_file"], "LIAISON_TSA_URL": "",
    })
    return env


def manage(env: dict[str, str], database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env={**env, "DATABASE_URL": database_url},
                          capture_output=True, text=True, timeout=600, cwd=ROOT)


@postgresql_only
def test_migrated_by_the_owner_the_portal_runs_as_a_role_that_cannot_touch_the_audit_log(roles,
                                                                                         production_environment,
                                                                                         tmp_path):
    admin = server_url("postgres")
    created = psql(admin, *(f"--set={key}={value}" for key, value in roles.items()),
                   "-f", str(DEPLOY / "postgresql" / "1-roles.sql"))
    assert created.returncode == 0, created.stderr
    as_owner = server_url(roles["database"], roles["owner"])
    as_app = server_url(roles["database"], roles["app"])
    as_backup = server_url(roles["database"], roles["backup"])

    # The release step, as liaison-migrate.service runs it.
    migrated = manage(production_environment, as_owner, "migrate", "--noinput", "-v", "0")
    assert migrated.returncode == 0, migrated.stderr
    granted = manage(production_environment, as_owner, "dbshell", "--", "--no-psqlrc", "--quiet",
                     f"--set=app={roles['app']}", "-f", str(DEPLOY / "postgresql" / "2-grants.sql"))
    assert granted.returncode == 0, granted.stderr

    # The portal at work as the application role: people, cases, evidence, threads, signed reports, checkpoints.
    seeded = manage(production_environment, as_app, "seed_demo", "--force")
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr
    assert "signed outcome report" in seeded.stdout
    checkpoint = manage(production_environment, as_app, "make_audit_checkpoint")
    assert checkpoint.returncode == 0, checkpoint.stderr
    verified = manage(production_environment, as_app, "verify_audit")
    assert verified.returncode == 0 and "Audit chain intact" in verified.stdout, verified.stderr

    # What it cannot do, however it asks.
    refusals = {
        "DELETE FROM cases_auditevent": "permission denied",
        "UPDATE cases_auditevent SET action = 'case.harmless'": "permission denied",
        "TRUNCATE cases_auditevent": "permission denied",
        "UPDATE cases_auditcheckpoint SET event_count = 0": "permission denied",
        "ALTER TABLE cases_auditevent DISABLE TRIGGER USER": "must be owner",
        "DROP TRIGGER liaison_audit_append_only ON cases_auditevent": "must be owner",
        "SET session_replication_role = replica": "permission denied",
        "CREATE TABLE intruder (id int)": "permission denied for schema public",
        "ALTER TABLE cases_case ADD COLUMN intruder int": "must be owner",
    }
    for sql, error in refusals.items():
        result = psql(as_app, "-c", sql)
        assert result.returncode != 0 and error in result.stderr, (sql, result.stderr)
    owned = psql(as_app, "-c", "SELECT count(*) FROM pg_class WHERE relowner = "
                               "(SELECT oid FROM pg_roles WHERE rolname = current_user)")
    assert owned.stdout.strip() == "0"  # not one table, index, sequence or view

    # Backups read everything and change nothing.
    assert psql(as_backup, "-c", "SELECT count(*) FROM cases_auditevent").stdout.strip() != "0"
    written = psql(as_backup, "-c", "INSERT INTO cases_category (slug) VALUES ('intruder')")
    assert written.returncode != 0 and "permission denied" in written.stderr
    dumped = subprocess.run(["pg_dump", "--format=custom", f"--file={tmp_path / 'liaison.dump'}", f"--dbname={as_backup}"],
                            capture_output=True, text=True, timeout=300)
    assert dumped.returncode == 0, dumped.stderr


# --- The files of deploy/ ---------------------------------------------------------------------------------------


def unit(name: str) -> str:
    return (DEPLOY / name).read_text()


def test_the_units_run_the_release_with_its_own_config_and_scripts():
    for name in ("liaison-web.service", "liaison-worker.service", "liaison-beat.service",
                 "liaison-migrate.service", "liaison-backup.service"):
        text = unit(name)
        assert "User=liaison" in text and "EnvironmentFile=/etc/liaison/liaison.env" in text, name
        for path in re.findall(r"/srv/liaison/((?:deploy|docs)/[\w./-]+)", text):
            assert (ROOT / path).exists(), (name, path)
        for path in re.findall(r"-f (deploy/[\w./-]+)", text):
            assert (ROOT / path).exists(), (name, path)
    assert "gunicorn --config /srv/liaison/deploy/gunicorn.conf.py liaison.wsgi" in unit("liaison-web.service")
    assert "celery --app liaison worker" in unit("liaison-worker.service")
    beat = unit("liaison-beat.service")
    assert "celery --app liaison beat" in beat and "django_celery_beat.schedulers:DatabaseScheduler" in beat
    assert "EXACTLY ONE" in beat
    migrate = unit("liaison-migrate.service")
    assert "EnvironmentFile=/etc/liaison/migrate.env" in migrate  # the owner role, for this unit only
    for name in ("liaison-web.service", "liaison-worker.service", "liaison-beat.service"):
        assert "migrate.env" not in unit(name), name


def test_the_example_environment_names_only_settings_the_portal_reads():
    settings_source = "".join((ROOT / "liaison" / name).read_text()
                              for name in ("settings.py", "domain_settings.py", "environment.py"))
    read_elsewhere = {"AWS_REQUEST_CHECKSUM_CALCULATION", "AWS_RESPONSE_CHECKSUM_VALIDATION"}  # boto3 reads these
    for example in ("liaison.env.example", "migrate.env.example"):
        names = re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", unit(example), flags=re.MULTILINE)
        assert names, example
        for name in names:
            base = name.removesuffix("_FILE")
            assert f'"{name}"' in settings_source or f'"{base}"' in settings_source or name in read_elsewhere, (
                example, name)
    backup_script = unit("backup.sh")
    for name in re.findall(r"^([A-Z][A-Z0-9_]+)=", unit("backup.env.example"), flags=re.MULTILINE):
        assert name in backup_script, name


def test_the_gunicorn_config_loads(tmp_path):
    result = subprocess.run([sys.executable, "-m", "gunicorn", "--config", str(DEPLOY / "gunicorn.conf.py"),
                             "--check-config", "--print-config", "liaison.wsgi"], capture_output=True, text=True,
                            timeout=120, cwd=ROOT, env={"PATH": "/usr/bin:/bin", "DEBUG": "true",
                                                        "LIAISON_VAR_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert "worker_class" in result.stdout and "gthread" in result.stdout


# --- nginx in front of gunicorn, as deployed ----------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for(url: str, seconds: float = 60.0, **kwargs: object) -> None:
    import time
    import urllib.request

    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=2, **kwargs)  # noqa: S310 (loopback)
            return
        except OSError as exc:  # refused while starting; an HTTP error means it answers
            if hasattr(exc, "code"):
                return
            if time.monotonic() > deadline:
                raise


def wait_for_port(port: int, seconds: float = 30.0) -> None:
    import socket
    import time

    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def request(url: str, *, method: str = "GET", data: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    """One request with the public host name, not following redirects, trusting the proxy's throwaway certificate."""
    import ssl
    import urllib.error
    import urllib.request

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    opener = urllib.request.build_opener(NoRedirect, urllib.request.HTTPSHandler(context=context))
    prepared = urllib.request.Request(url, data=data, method=method,  # noqa: S310 (loopback)
                                      headers={"Host": "liaison.platform.example"})
    try:
        with opener.open(prepared, timeout=60) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture
def proxied_portal(tmp_path: Path, production_environment: dict[str, str]) -> Iterator[dict[str, str]]:
    """deploy/gunicorn.conf.py serving the portal on a loopback port, and deploy/nginx-liaison.conf in front of it
    with a throwaway certificate: only ports, paths and the certificate differ from the deployed files."""
    import os
    import shutil
    import signal

    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        pytest.skip("nginx is not installed (CI installs nginx-light)")
    web, http, https = free_port(), free_port(), free_port()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=liaison.platform.example", "-keyout", str(tmp_path / "key.pem"), "-out",
                    str(tmp_path / "cert.pem")], check=True, capture_output=True, timeout=60)
    site = (DEPLOY / "nginx-liaison.conf").read_text()
    for deployed, here in {
        "127.0.0.1:8001": f"127.0.0.1:{web}",
        "listen 80;": f"listen 127.0.0.1:{http};", "listen [::]:80;": "",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https} ssl http2;", "listen [::]:443 ssl http2;": "",
        "/etc/letsencrypt/live/liaison.platform.example/fullchain.pem": str(tmp_path / "cert.pem"),
        "/etc/letsencrypt/live/liaison.platform.example/privkey.pem": str(tmp_path / "key.pem"),
        "/var/log/nginx/": f"{tmp_path}/",
    }.items():
        assert deployed in site, deployed
        site = site.replace(deployed, here)
    (tmp_path / "site.conf").write_text(site)
    for folder in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp_path / folder).mkdir()
    (tmp_path / "nginx.conf").write_text(
        ("user root;\n" if os.geteuid() == 0 else "")
        + f"daemon off;\npid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\nhttp {{\n"
        f"  include /etc/nginx/mime.types;\n  client_body_temp_path {tmp_path}/body;\n"
        f"  proxy_temp_path {tmp_path}/proxy;\n  fastcgi_temp_path {tmp_path}/fastcgi;\n"
        f"  uwsgi_temp_path {tmp_path}/uwsgi;\n  scgi_temp_path {tmp_path}/scgi;\n"
        f"  include {tmp_path}/site.conf;\n}}\n")
    checked = subprocess.run([nginx, "-t", "-c", str(tmp_path / "nginx.conf")], capture_output=True, text=True,
                             timeout=60)
    assert checked.returncode == 0, checked.stderr
    env = {**production_environment, "DATABASE_URL": server_url(connection.settings_dict["NAME"]),
           "ALLOWED_HOSTS": "liaison.platform.example", "BEHIND_TLS_PROXY": "true",
           "LIAISON_TRUSTED_PROXIES": "127.0.0.1", "GUNICORN_BIND": f"127.0.0.1:{web}", "GUNICORN_WORKERS": "1",
           "GUNICORN_THREADS": "2"}
    log = (tmp_path / "gunicorn.log").open("w")
    gunicorn = subprocess.Popen([sys.executable, "-m", "gunicorn", "--config", str(DEPLOY / "gunicorn.conf.py"),
                                 "liaison.wsgi"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    proxy = subprocess.Popen([nginx, "-c", str(tmp_path / "nginx.conf")], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        try:
            wait_for(f"http://127.0.0.1:{web}/health/", seconds=120)
        except OSError:
            log.flush()
            raise AssertionError((tmp_path / "gunicorn.log").read_text()[-3000:]) from None
        wait_for_port(https)
        yield {"http": f"http://127.0.0.1:{http}", "https": f"https://127.0.0.1:{https}",
               "access_log": str(tmp_path / "liaison.access.log")}
    finally:
        for process in (proxy, gunicorn):
            process.send_signal(signal.SIGTERM)
        for process in (proxy, gunicorn):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()


@postgresql_only
@pytest.mark.django_db
def test_nginx_terminates_tls_in_front_of_gunicorn_as_deployed(proxied_portal):
    status, headers, _ = request(proxied_portal["http"] + "/health/")
    assert status == 301
    assert headers["Location"] == "https://liaison.platform.example/health/"

    status, headers, body = request(proxied_portal["https"] + "/health/")
    assert status == 200, body  # no redirect loop: Django takes X-Forwarded-Proto from the proxy as HTTPS
    assert b'"status": "ok"' in body
    assert headers["Strict-Transport-Security"].startswith("max-age=31536000")

    # The proxy refuses a body past the portal's general limit before gunicorn sees it, but lets an evidence upload
    # through to the portal (which answers it: sign in first).
    status, _, _ = request(proxied_portal["https"] + "/reports/verify/", method="POST", data=b"x" * (22 * 1024 * 1024))
    assert status == 413
    status, headers, _ = request(proxied_portal["https"] + "/cases/ID-2026-000001/evidence/upload/", method="POST",
                                 data=b"x" * (30 * 1024 * 1024))
    assert status == 302 and "/accounts/login/" in headers["Location"]

    request(proxied_portal["https"] + "/cases/?search=t.me%2Fsecret_channel")
    logged = Path(proxied_portal["access_log"]).read_text()
    assert "/cases/" in logged and "secret_channel" not in logged  # no query strings in the proxy's log
