"""The streaming core: validate, dedup, correlate and enrich events into incidents.

Nothing in this package talks to Kafka, HTTP or the file system; connectors feed it records
and take its outputs, so `aiops replay` and `aiops run` run exactly the same code.
"""
