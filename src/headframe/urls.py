from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from headframe.api import api
from headframe.org.forms import AdminLoginForm, LoginForm

admin.site.site_header = "headframe"
admin.site.site_title = "headframe"
admin.site.login_form = AdminLoginForm  # throttled and audited like the pages' log-in

# What escapes the views and the ServerErrorMiddleware (a middleware, a session save on a locked database):
# a plain page or the API's JSON shape with the request id, 503 when the database was only busy.
handler500 = "headframe.core.failures.server_error"
handler404 = "headframe.core.failures.not_found"
handler400 = "headframe.core.failures.bad_request"  # a session save refused by a locked database lands here

urlpatterns = [
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            template_name="web/login.html", authentication_form=LoginForm, redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("production/", include("headframe.production.urls")),
    path("telemetry/", include("headframe.telemetry.urls")),
    path("briefing/", include("headframe.briefing.urls")),
    path("safety/", include("headframe.safety.urls")),
    path("workforce/", include("headframe.workforce.urls")),
    path("", include("headframe.web.urls")),
]
