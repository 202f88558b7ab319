"""The settings gunicorn runs with in the HTTP scenarios: the site's own, with the benchmark's URLs added (the bare
view, so the HTTP floor is measured through the same server as the pages)."""

from liaison.settings import *  # noqa: F403

ROOT_URLCONF = "tests.perf.bench_urls"
