"""Routes of the pack pages and the live room, included in the briefing namespace by briefing/urls.py."""

from django.urls import path

from headframe.briefing.pack import views as pack_views

urlpatterns = [
    path("pack", pack_views.adhoc_pack, name="pack-adhoc"),
    path("meetings/<int:pk>/pack", pack_views.meeting_pack, name="pack"),
    path("meetings/<int:pk>/room", pack_views.room, name="room"),
    path("meetings/<int:pk>/room/stream", pack_views.room_stream, name="room-stream"),
]
