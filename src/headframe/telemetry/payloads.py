"""The headframe JSON readings message, shared by its two transports (HTTP POST /readings and MQTT
headframe/v1/<site>/<gateway>/readings): one body, one reading shape."""


def readings_tuples(readings: list) -> list[tuple]:
    """{"sensor", "ts", "value"} objects as (sensor, ts, value); anything else is passed on to be quarantined."""
    out = []
    for item in readings:
        if isinstance(item, dict):
            out.append((item.get("sensor"), item.get("ts"), item.get("value")))
        else:
            out.append(item)
    return out
