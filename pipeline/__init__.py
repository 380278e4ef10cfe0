"""The streaming core: validate, dedup, correlate and enrich events into incidents.

Nothing in this package talks to Kafka, HTTP or the file system; connectors feed it records
and take its outputs, so `aiops replay` and `aiops run` run exactly the same code.
"""

from pipeline._build import check as _check

# Whether this install runs the mypyc-compiled core (setup.py); fails loudly if a compiled
# module is older than its source (pipeline/_build.py).
COMPILED: bool = _check()
