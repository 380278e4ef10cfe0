"""Kafka edges of the pipeline: topics, message decoding and keying, the stream merge, the
checkpoint store and the long-running service loop (`aiops run`)."""
