from django.urls import path

from headframe.briefing import views
from headframe.briefing.pack import urls as pack_urls

app_name = "briefing"

# The pack and live-room pages come first, as they always have (briefing/pack/urls.py).
urlpatterns = [
    *pack_urls.urlpatterns,
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
