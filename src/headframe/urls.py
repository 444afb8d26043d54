from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from headframe.api import api

admin.site.site_header = "headframe"
admin.site.site_title = "headframe"

urlpatterns = [
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(template_name="web/login.html", redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("production/", include("headframe.production.urls")),
    path("telemetry/", include("headframe.telemetry.urls")),
    path("briefing/", include("headframe.briefing.urls")),
    path("safety/", include("headframe.safety.urls")),
    path("", include("headframe.web.urls")),
]
