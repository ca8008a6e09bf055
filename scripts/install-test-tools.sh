#!/usr/bin/env bash
# Installs the Debian packages the test suite drives besides Node: docker-compose (parses
# docker-compose.yml; no engine needed) and the real Celery client, django-celery-results,
# simplejwt, redis and django-redis (the RedisCache of Debian's Django 3.2) of the Django interop
# tests (test/celery), and Debian's chromium for the browser tests
# (test/e2e/browser.e2e-spec.ts drives it with playwright-core; no browser is ever downloaded).
# Does nothing when they are all there.
set -euo pipefail

PACKAGES=(docker-compose python3-celery python3-django python3-django-celery-results
  python3-djangorestframework-simplejwt python3-jwt python3-psycopg2 python3-redis python3-django-redis
  chromium)

missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "Installing test tools: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
