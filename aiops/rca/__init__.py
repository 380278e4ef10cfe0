"""Root-cause analysis around the ranker: offline training on generated incidents, the
change-impact view, and the benchmark on the Nezha Train-Ticket data."""
