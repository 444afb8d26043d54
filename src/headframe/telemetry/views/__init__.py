"""Live monitoring pages: the mines of the group, one mine live (server-sent events) with its alarm console, one
sensor's history.

Pages read through telemetry.selectors and act through telemetry.services, like the API. The live page gets
its updates from one SSE stream per browser (views.live); the alarm console (views.console) is one
server-rendered fragment the page swaps in when the journal moves; telemetry.words says what codes mean, telemetry.tiles reads what the tiles show.
"""

from headframe.telemetry.views.console import (
    alarm_action,
    alarms_ack_many,
    alarms_partial,
    sensor_out_of_service,
    sensor_return_to_service,
)
from headframe.telemetry.views.live import stream
from headframe.telemetry.views.pages import group, mine, sensor_history

__all__ = [
    "alarm_action",
    "alarms_ack_many",
    "alarms_partial",
    "group",
    "mine",
    "sensor_history",
    "sensor_out_of_service",
    "sensor_return_to_service",
    "stream",
]
