"""Workforce API schemas: medical examinations and occupational disease screening (individual rows: the medical role only)."""
