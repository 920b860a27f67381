"""Settings for the Django peer of the database suite (`bench/run --db`): the database is
`DATABASE_URL` (PostgreSQL through psycopg 3), each thread keeps its connection
(`CONN_MAX_AGE = None`, as TechEmpower's Django entry does); middleware trimmed as in the
other Django peer (no sessions, CSRF or auth for these read-mostly endpoints)."""

import os
from pathlib import Path
from urllib.parse import urlparse

url = urlparse(os.environ["DATABASE_URL"])

SECRET_KEY = "bench-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = ["world"]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]
ROOT_URLCONF = "dbsite.urls"
WSGI_APPLICATION = "dbsite.wsgi.application"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": url.path.lstrip("/"),
        "USER": url.username or "postgres",
        "PASSWORD": url.password or "",
        "HOST": url.hostname or "127.0.0.1",
        "PORT": str(url.port or 5432),
        "CONN_MAX_AGE": None,
    }
}
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [Path(__file__).resolve().parent.parent / "templates"],
    }
]
USE_TZ = True
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
