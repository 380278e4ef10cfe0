"""Scoring a replay against a scenario's ground truth (`aiops evaluate`)."""
