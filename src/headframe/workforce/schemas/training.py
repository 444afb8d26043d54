"""Workforce API schemas: training matrix, certificate expiries, who may work where."""
