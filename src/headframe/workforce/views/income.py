"""Workforce pages: average income per worker from payroll aggregates, against plan and last year."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
