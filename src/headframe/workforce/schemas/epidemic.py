"""Workforce API schemas: the epidemic register: tests, cases, isolation, contact tracing."""
