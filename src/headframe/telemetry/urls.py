from django.urls import path

from headframe.telemetry import views

app_name = "telemetry"

urlpatterns = [
    path("", views.group, name="group"),
    path("sensor/<str:code>/", views.sensor_history, name="sensor"),
    path("alarms/<int:condition_id>/<str:action>/", views.alarm_action, name="alarm-action"),
    path("<str:code>/", views.mine, name="mine"),
    path("<str:code>/alarms/", views.alarms_partial, name="alarms"),
    path("<str:code>/stream", views.stream, name="stream"),
]
