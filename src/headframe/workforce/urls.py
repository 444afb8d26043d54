from django.urls import path

from headframe.workforce import views

app_name = "workforce"

urlpatterns = [
    path("", views.index, name="index"),
    path("lamp-room/<str:site>/", views.lamp_room, name="lamp-room"),
    path("muster/<str:site>.pdf", views.muster_pdf, name="muster-pdf"),
    path("muster/<str:site>/", views.muster, name="muster"),
]
