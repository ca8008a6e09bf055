"""Django settings of a stand-in for the Django project that moves to this service.

Only settings change on the Django side: the task is routed to the service's queue, the broker is
the same RabbitMQ, the result backend stays django-db on the same Postgres.
"""
import os
from urllib.parse import unquote, urlparse

_db = urlparse(os.environ["DATABASE_URL"])

SECRET_KEY = os.environ["JWT_SECRET"]
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django_celery_results",
    "notifications",
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(_db.path[1:]),
        "USER": _db.username or "postgres",
        "PASSWORD": _db.password or "",
        "HOST": _db.hostname or "127.0.0.1",
        "PORT": _db.port or 5432,
    }
}

CELERY_BROKER_URL = os.environ["AMQP_URL"]
CELERY_RESULT_BACKEND = "django-db"
CELERY_RESULT_EXTENDED = True
CELERY_TASK_ROUTES = {"notifications.tasks.*": {"queue": os.environ["AMQP_QUEUE"]}}
# Celery's defaults (celery.pidbox, celeryev) unless a test names exchanges of its own, so that
# tests running side by side on one broker never see each other's workers.
CELERY_CONTROL_EXCHANGE = os.environ.get("CELERY_CONTROL_EXCHANGE") or "celery"
CELERY_EVENT_EXCHANGE = os.environ.get("CELERY_EVENT_EXCHANGE") or "celeryev"

SIMPLE_JWT = {"SIGNING_KEY": SECRET_KEY, "ALGORITHM": "HS256"}
