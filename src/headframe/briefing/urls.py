import importlib

from django.urls import path

from headframe.briefing import views

app_name = "briefing"

urlpatterns = [
    path("", views.index, name="index"),
    path("meetings/new/", views.meeting_create, name="meeting-create"),
    path("meetings/<int:pk>/", views.meeting_detail, name="meeting"),
    path("meetings/<int:pk>/directives/", views.meeting_directive, name="meeting-directive"),
    path("meetings/<int:pk>/people/", views.meeting_people, name="meeting-people"),
    path("meetings/<int:pk>/<str:action>/", views.meeting_action, name="meeting-action"),
    path("directives/", views.directives, name="directives"),
    path("directives/<int:pk>/", views.directive_detail, name="directive"),
    path("key-tasks/", views.key_tasks, name="key-tasks"),
    path("key-tasks/kpis/<int:pk>/", views.kpi_report, name="kpi-report"),
]

# The pack and live-room pages (their own module) add their routes here, in this namespace, when present.
try:
    _pack_views = importlib.import_module("headframe.briefing.pack_urls")
except ModuleNotFoundError as exc:
    if exc.name != "headframe.briefing.pack_urls":
        raise
else:
    urlpatterns = list(_pack_views.urlpatterns) + urlpatterns
