# Superset 6.1 on the mart (the `superset` service of docker-compose.yml): the project (for its
# provisioning and lineage, bi/) in /opt/venv, Superset in its own venv from the pinned
# bi/requirements.txt (its pins are not Dagster's). State (metadata DB, SECRET_KEY) in /data/superset.
FROM python:3.11-slim
ENV UV_PROJECT_ENVIRONMENT=/opt/venv PATH=/opt/venv/bin:$PATH LAKEHOUSE_SUPERSET_VENV=/opt/superset-venv
RUN pip install --no-cache-dir uv
WORKDIR /app
COPY bi/requirements.txt bi/requirements.txt
RUN uv venv --python 3.11 /opt/superset-venv \
    && uv pip sync --python /opt/superset-venv/bin/python --require-hashes bi/requirements.txt \
    && sha256sum bi/requirements.txt | cut -d' ' -f1 > /opt/superset-venv/.lakehouse-requirements.sha256
COPY pyproject.toml uv.lock README.md openlineage.yml ./
COPY lakehouse_core lakehouse_core
COPY orchestration orchestration
COPY lineage lineage
COPY lineage_ui lineage_ui
COPY marquez marquez
COPY dbt dbt
COPY bi bi
RUN uv sync --frozen --no-dev
EXPOSE 8088
CMD ["python", "-m", "orchestration.services.superset", "serve"]
