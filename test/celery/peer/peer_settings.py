"""Django settings of a stand-in for the Django project that moves to this service.

Only settings change on the Django side: the task is routed to the service's queue, the broker is
the same RabbitMQ, the result backend stays django-db on the same Postgres, or (CELERY_PEER_CACHE
set) is django-cache on a DatabaseCache table (CELERY_PEER_CACHE=database) or a RedisCache
(CELERY_PEER_CACHE=redis, at CELERY_PEER_CACHE_LOCATION).
"""
import os

import django
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

_cache = os.environ.get("CELERY_PEER_CACHE")
if _cache == "database":
    # Exactly the settings of the project this service replaces (after `manage.py createcachetable`).
    CELERY_RESULT_BACKEND = "django-cache"
    CELERY_CACHE_BACKEND = "default"
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "my_cache_table"}}
elif _cache == "redis":
    # Django 4.0+ has its own RedisCache; Debian 12's Django 3.2 has django-redis's, which keeps
    # the same keys and pickles.
    _redis_cache = (
        "django.core.cache.backends.redis.RedisCache"
        if django.VERSION >= (4, 0)
        else "django_redis.cache.RedisCache"
    )
    CELERY_RESULT_BACKEND = "django-cache"
    CELERY_CACHE_BACKEND = "default"
    CACHES = {
        "default": {
            "BACKEND": _redis_cache,
            "LOCATION": os.environ["CELERY_PEER_CACHE_LOCATION"],
            "KEY_PREFIX": os.environ.get("CELERY_PEER_CACHE_KEY_PREFIX", ""),
            "VERSION": int(os.environ.get("CELERY_PEER_CACHE_VERSION", "1")),
        }
    }
CELERY_TASK_ROUTES = {"notifications.tasks.*": {"queue": os.environ["AMQP_QUEUE"]}}
# Celery's defaults (celery.pidbox, celeryev) unless a test names exchanges of its own, so that
# tests running side by side on one broker never see each other's workers.
CELERY_CONTROL_EXCHANGE = os.environ.get("CELERY_CONTROL_EXCHANGE") or "celery"
CELERY_EVENT_EXCHANGE = os.environ.get("CELERY_EVENT_EXCHANGE") or "celeryev"

SIMPLE_JWT = {"SIGNING_KEY": SECRET_KEY, "ALGORITHM": "HS256"}
