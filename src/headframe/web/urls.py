from django.urls import path

from headframe.web import views

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("org/units/", views.unit_tree, name="unit-tree"),
    path("org/units/<str:code>/", views.unit_detail, name="unit-detail"),
    path("audit/", views.audit_log, name="audit"),
    path("search/", views.search_page, name="search"),
    path("unit-picker/", views.pick_unit, name="pick-unit"),
    path("healthz", views.healthz, name="healthz"),
]
