"""Workforce pages: workers' voice: suggestions and grievances (kiến nghị), answers, escalation."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
