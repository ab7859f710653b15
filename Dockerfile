# Production image of the portal: gunicorn serves Django, WhiteNoise the static files.
# The same image runs the Celery worker and beat (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

RUN groupadd --system gonghui \
    && useradd --system --gid gonghui --home-dir /app --no-create-home --shell /usr/sbin/nologin gonghui

COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .

# Static files are collected into the image; the keys only let settings load for this step.
RUN DEBUG=0 SECRET_KEY=build-only-collectstatic-key-never-used-to-serve-requests \
        FIELD_ENCRYPTION_KEY=YnVpbGQtb25seS1jb2xsZWN0c3RhdGljLWtleS0wMDA= \
        PII_HASH_KEY=build-only-collectstatic-pii-hash-key-never-used \
        python manage.py collectstatic --noinput \
    && mkdir -p /app/media \
    && chown -R gonghui:gonghui /app/media /app/staticfiles

USER gonghui

EXPOSE 8000

CMD ["gunicorn", "gonghui.wsgi:application", "-b", "0.0.0.0:8000", "-w", "3", "--access-logfile", "-"]
