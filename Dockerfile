# The aiops service image: `aiops run` by default; `aiops webhook` with that command.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY aiops ./aiops
COPY config ./config
COPY connectors ./connectors
COPY models ./models
COPY pipeline ./pipeline
RUN pip install . && rm -rf /src

WORKDIR /
# Metrics of `aiops run`, and the port of `aiops webhook`.
EXPOSE 9464 9095
USER nobody
ENTRYPOINT ["aiops"]
CMD ["run"]
