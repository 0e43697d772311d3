"""Seeding and provenance of runs."""
