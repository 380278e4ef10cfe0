"""Learners and rankers: pure, offline-testable, river-style `learn_one` / `predict_one`."""
