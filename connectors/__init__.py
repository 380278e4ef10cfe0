"""The pipeline's edges: file, Kafka and HTTP transports and the native format parsers."""
