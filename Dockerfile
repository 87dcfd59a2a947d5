# Python images of the compose stack (docker-compose.yml), built from the same pins as `make test`:
# pyproject.toml's dependencies constrained by constraints.txt (`pip install -c constraints.txt`).
#
#   docker build --target pipeline -t candle-platform-pipeline .   # dagster-webserver, dagster-daemon, mlflow
#   docker build --target service  -t candle-platform-service  .   # the Litestar inference service
#
# Both targets carry the same virtualenv (pyproject.toml has one dependency list); they differ in
# what they add on top: the Dagster instance and workspace, or the service's command.
# TA-Lib comes from its wheel (ta-lib==0.8.2 bundles the C library): no compiler, no system library.

# ---------------------------------------------------------------------------- base
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

# ---------------------------------------------------------------------------- build
# Installs into /opt/venv, which the runtime stages copy whole.
FROM base AS build

RUN python -m venv /opt/venv

WORKDIR /src

# 1. Third-party dependencies only: this layer depends on pyproject.toml and constraints.txt and
#    nothing else, so editing the code does not reinstall ~1 GB of wheels. The dependency list is
#    read from pyproject.toml (tomllib is in the standard library since 3.11).
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -c constraints.txt -r /tmp/requirements.txt

# 2. The project itself, the same command as the Makefile's install recipe minus `-e` and `[dev]`:
#    every dependency is already satisfied at its pinned version, so this only builds our wheel.
#    README.md is the package's long description (pyproject's `readme`).
COPY README.md ./
COPY ml_platform ./ml_platform
COPY assets ./assets
COPY resources ./resources
COPY serving ./serving
RUN pip install -c constraints.txt . \
    && pip check

# ---------------------------------------------------------------------------- runtime
FROM base AS runtime

# A non-root user. /data (the shared data volume) and /mlartifacts (MLflow's artifact volume) are
# created here and owned by it: Docker initialises an empty named volume from the image's folder,
# ownership included, so the volumes start writable for this user.
RUN useradd --create-home --uid 10001 --user-group app \
    && mkdir -p /data /mlartifacts /opt/dagster/home/storage \
    && chown -R app:app /data /mlartifacts /opt/dagster

COPY --from=build /opt/venv /opt/venv

WORKDIR /app
# The pipeline config of the stack: absolute data paths on /data, MLflow and PostgreSQL by service
# name. The code is installed as a package (not an editable checkout), so relative paths in a
# config would resolve inside site-packages: deploy/pipeline.yaml uses absolute ones only.
COPY deploy/pipeline.yaml /app/deploy/pipeline.yaml

# OMP_WAIT_POLICY: XGBoost's OpenMP threads spin while waiting by default (2.5x slower on a
# shared machine; the Makefile sets the same). GIT_PYTHON_REFRESH: MLflow records the git commit
# when git is installed; there is none in the image, so no warning about it. MPLCONFIGDIR: a
# writable folder for matplotlib (the assets' plots).
ENV ML_PLATFORM_CONFIG=/app/deploy/pipeline.yaml \
    OMP_WAIT_POLICY=PASSIVE \
    GIT_PYTHON_REFRESH=quiet \
    MPLCONFIGDIR=/tmp/matplotlib

# ---------------------------------------------------------------------------- pipeline
# Dagster (webserver and daemon, from one workspace) and the MLflow tracking server.
FROM runtime AS pipeline

# DAGSTER_HOME holds the instance config: dagster.postgres.yaml, storage on PostgreSQL from the
# DAGSTER_PG_* variables, the queued run coordinator with its per-pair limit. Run workers launched
# by the daemon write compute logs under $DAGSTER_HOME/storage (a volume shared with the webserver).
ENV DAGSTER_HOME=/opt/dagster/home
COPY --chown=app:app dagster.postgres.yaml /opt/dagster/home/dagster.yaml
# The code location: the Definitions in `assets.definitions`, imported from the installed package.
COPY workspace.yaml /app/workspace.yaml

USER app
EXPOSE 3000 5000
CMD ["dagster-webserver", "-h", "0.0.0.0", "-p", "3000", "-w", "/app/workspace.yaml"]

# ---------------------------------------------------------------------------- service
# The Litestar inference service over the model bundles on /data/models.
FROM runtime AS service

USER app
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request as u; sys.exit(0 if u.urlopen('http://127.0.0.1:8000/health', timeout=4).status == 200 else 1)"]
CMD ["python", "-m", "serving", "--host", "0.0.0.0", "--port", "8000", "--config", "/app/deploy/pipeline.yaml"]
