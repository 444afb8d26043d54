"""Workforce pages: the epidemic register: tests, cases, isolation, contact tracing."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
