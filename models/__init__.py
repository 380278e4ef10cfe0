"""Learners and rankers: pure, offline-testable, river-style `learn_one` / `predict_one`."""

import pipeline  # noqa: F401  (checks the compiled modules, some of them here, before any loads)
