# The case worker, the API, the codec server (and the casework command) as a container image.
# Every package pyproject.toml names is copied (tests/test_ops_deploy.py::test_the_image_copies_every_package).

# The web inbox's GOV.UK Frontend files, from the committed package-lock.json (versions and
# integrity hashes); only the compiled dist/govuk goes into the image (docs/inbox.md).
FROM node:20-bookworm-slim AS inbox-assets
WORKDIR /assets
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --omit=dev --no-audit --no-fund

FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
RUN useradd --system --uid 10001 casework

# The locked, hashed dependencies first (scripts/lock), so the image has exactly what CI tested.
COPY requirements.lock ./
RUN pip install --require-hashes --no-deps -r requirements.lock
COPY pyproject.toml README.md ./
COPY casework ./casework
COPY cid ./cid
COPY local_stack ./local_stack
COPY workflows ./workflows
COPY activities ./activities
COPY worker ./worker
COPY starter ./starter
COPY codec_server ./codec_server
COPY access ./access
COPY api ./api
COPY local_stack ./local_stack
COPY examples ./examples
COPY --from=inbox-assets /assets/node_modules/govuk-frontend/dist/govuk ./inbox-assets
ENV CASEWORK_INBOX_ASSETS_DIR=/app/inbox-assets
RUN pip install --no-deps --no-build-isolation .

USER casework
EXPOSE 9464 8000
HEALTHCHECK --interval=10s --timeout=5s --retries=6 CMD ["python", "-m", "worker.health"]
CMD ["casework-worker"]
