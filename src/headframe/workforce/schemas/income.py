"""Workforce API schemas: average income per worker from payroll aggregates, against plan and last year."""
