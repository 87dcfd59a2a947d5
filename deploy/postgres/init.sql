-- The databases of the compose stack, created by the postgres image's entrypoint on the first
-- start of an empty `postgres-data` volume (files in /docker-entrypoint-initdb.d run once, as
-- POSTGRES_USER, who owns them). The same four names as `make up` (scripts/stack/settings.py).
CREATE DATABASE dagster;        -- Dagster's runs, events, schedules (dagster.postgres.yaml)
CREATE DATABASE mlflow;         -- MLflow's tracking and model registry (artifacts: the mlartifacts volume)
CREATE DATABASE training_runs;  -- ml_platform's training_runs table (DATABASE_URL of the pipeline and service)
CREATE DATABASE annotations;    -- the web app's span annotations (Drizzle, ANNOTATIONS_DATABASE_URL of the web)
