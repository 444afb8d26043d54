"""Workforce pages: training matrix, certificate expiries, who may work where."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
