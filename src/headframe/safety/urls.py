from django.urls import path

from headframe.safety import views

app_name = "safety"

urlpatterns = [
    path("", views.index, name="index"),
    path("campaigns/<str:code>/", views.campaign_detail, name="campaign"),
    path("campaigns/<str:code>/gate/", views.campaign_gate, name="campaign-gate"),
    path("inspections/<int:inspection_id>/", views.inspection_form, name="inspection"),
    path("inspections/<int:inspection_id>/autosave/", views.inspection_autosave, name="inspection-autosave"),
    path("inspections/<int:inspection_id>/photos/", views.inspection_photo, name="inspection-photo"),
    path("readiness/", views.readiness_board, name="readiness"),
    path("readiness/release/", views.release, name="release"),
    path("findings/", views.findings, name="findings"),
    path("findings/<int:finding_id>/", views.finding_detail, name="finding"),
    path("incidents/", views.incidents, name="incidents"),
    path("photos/<int:photo_id>/", views.photo, name="photo"),
]
