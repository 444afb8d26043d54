import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "headframe.settings")
application = get_asgi_application()

if os.environ.get("HEADFRAME_WEB_NOTIFIER") == "1":  # a web worker of `headframe serve` (cli.serving)
    from headframe.notify.worker import start_notifier

    start_notifier()  # what this worker queues is delivered at once, not at the serve process's next round
