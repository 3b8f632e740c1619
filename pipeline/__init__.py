"""Scans to searchable PDF/A records in object storage: the stages and their wiring."""
