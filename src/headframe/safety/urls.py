from django.urls import path

from headframe.safety import views

app_name = "safety"

urlpatterns = [
    path("", views.index, name="index"),
]
