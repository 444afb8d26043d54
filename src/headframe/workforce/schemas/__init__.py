"""Workforce API schemas, one module per part of the module."""
