from django.urls import path

from headframe.telemetry import views

app_name = "telemetry"

urlpatterns = [
    path("", views.group, name="group"),
    path("sensor/<str:code>/", views.sensor_history, name="sensor"),
    path("sensor/<str:code>/out-of-service/", views.sensor_out_of_service, name="sensor-out-of-service"),
    path(
        "sensor/<str:code>/return-to-service/",
        views.sensor_return_to_service,
        name="sensor-return-to-service",
    ),
    path("alarms/<int:condition_id>/<str:action>/", views.alarm_action, name="alarm-action"),
    path("<str:code>/", views.mine, name="mine"),
    path("<str:code>/alarms/", views.alarms_partial, name="alarms"),
    path("<str:code>/alarms/ack/", views.alarms_ack_many, name="alarms-ack"),
    path("<str:code>/stream", views.stream, name="stream"),
]
