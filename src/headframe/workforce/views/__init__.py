"""Workforce pages, one module per part of the module (urls.py assembles them)."""
