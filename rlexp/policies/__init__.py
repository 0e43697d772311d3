"""Exported policies: loading and evaluating SavedModels."""
