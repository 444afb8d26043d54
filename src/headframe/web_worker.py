"""The ASGI application as `headframe serve` runs it in its web workers: at a lower CPU priority
(settings.WEB_NICE) than serve's own process, which keeps the watchdog and the notifier, and than
`headframe ingest`. On a machine they share, the alarms go before the pages when the CPU is short; where the
CPU is not short, the priority changes nothing."""

import os

from django.conf import settings

from headframe.asgi import application

if settings.WEB_NICE:
    os.nice(settings.WEB_NICE)

__all__ = ["application"]
