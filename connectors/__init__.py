"""The pipeline's edges: file, Kafka and HTTP transports and the native format parsers."""

import pipeline  # noqa: F401  (checks the compiled modules, some of them here, before any loads)
