from django.urls import path

from headframe.production import views

app_name = "production"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("u/<str:code>/", views.unit_page, name="unit"),
    path("u/<str:code>/lock/", views.lock_month, name="lock"),
    path("entry/", views.entry, name="entry"),
    path("entry/deviation/", views.deviation_add, name="deviation"),
    path("import/", views.import_page, name="import"),
    path("template/", views.template_download, name="template"),
    path("holidays/", views.holidays_page, name="holidays"),
]
