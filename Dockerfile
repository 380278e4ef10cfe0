# The aiops service image: `aiops run` by default; `aiops webhook` with that command.

# Build stage: the hot modules compile to C extensions with mypyc (setup.py), which needs a C
# compiler; the image that runs keeps only the wheel's result.
FROM python:3.11-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY aiops ./aiops
COPY config ./config
COPY connectors ./connectors
COPY models ./models
COPY pipeline ./pipeline
RUN pip wheel --no-cache-dir --no-deps -w /wheels .

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1

COPY --from=build /wheels /wheels
RUN pip install /wheels/*.whl && rm -rf /wheels

WORKDIR /
# Metrics of `aiops run`, and the port of `aiops webhook`.
EXPOSE 9464 9095
USER nobody
ENTRYPOINT ["aiops"]
CMD ["run"]
