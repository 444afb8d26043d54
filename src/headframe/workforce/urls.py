from django.urls import path

from headframe.workforce.views import epidemic, health, income, people, rosters, training, voice

app_name = "workforce"

urlpatterns = [
    path("", people.index, name="index"),
    path("lamp-room/<str:site>/", people.lamp_room, name="lamp-room"),
    path("muster/<str:site>.pdf", people.muster_pdf, name="muster-pdf"),
    path("muster/<str:site>/", people.muster, name="muster"),
    *rosters.urlpatterns,
    *training.urlpatterns,
    *health.urlpatterns,
    *epidemic.urlpatterns,
    *voice.urlpatterns,
    *income.urlpatterns,
]
