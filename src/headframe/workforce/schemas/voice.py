"""Workforce API schemas: workers' voice: suggestions and grievances (kiến nghị), answers, escalation."""
