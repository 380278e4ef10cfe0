"""Offline training of the pipeline's learned parts on generated scenarios."""
