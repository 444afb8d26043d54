"""Workforce pages: medical examinations and occupational disease screening (individual rows: the medical role only)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
