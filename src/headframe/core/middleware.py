"""Request guards that apply to every page and API call."""

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.utils import translation
from django.utils.cache import patch_vary_headers

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)


class BodySizeLimitMiddleware:
    """Refuse oversize bodies with 413 before anything reads them (a malicious or broken gateway must not
    make the server buffer megabytes). Declared lengths are checked; Django enforces the same limit on read."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = settings.MAX_REQUEST_BODY_BYTES
        if request.META.get("CONTENT_TYPE", "").startswith("multipart/form-data"):
            # File uploads (inspection photos, workbooks) stream to disk; they get their own, larger limit.
            limit = settings.MAX_UPLOAD_BODY_BYTES
        if length > limit:
            msg = f"request body of {length} bytes exceeds the limit of {limit} bytes"
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {"detail": [{"loc": ["body"], "msg": msg, "type": "body_too_large"}]}, status=413
                )
            return HttpResponse(msg, status=413, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


class SecurityHeadersMiddleware:
    """Headers Django 5.2 does not set itself. Every asset is vendored, so the policy allows 'self' only."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # The OpenAPI docs page loads its own inline bootstrap script; leave it its default policy.
        if not request.path.startswith("/api/v1/docs"):
            response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        return response


class LanguageMiddleware:
    """Vietnamese unless the user chose otherwise.

    Pages follow the language the user picked (the language cookie set by the VI/EN switch) and are
    Vietnamese otherwise — a control-room PC with an English browser still shows the Vietnamese UI.
    The API follows Accept-Language, so a script can ask for English error messages.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.supported = {code for code, _ in settings.LANGUAGES}

    def _language(self, request) -> str:
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if chosen in self.supported:
            return chosen
        if request.path.startswith("/api/"):
            return translation.get_language_from_request(request)
        return settings.LANGUAGE_CODE

    def __call__(self, request):
        language = self._language(request)
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        patch_vary_headers(response, ("Cookie", "Accept-Language"))
        response.headers.setdefault("Content-Language", language)
        translation.deactivate()
        return response
