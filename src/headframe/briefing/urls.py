from django.urls import path

from headframe.briefing import views

app_name = "briefing"

urlpatterns = [
    path("", views.index, name="index"),
]
