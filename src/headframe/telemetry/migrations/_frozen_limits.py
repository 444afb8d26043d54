"""The limit-profile loader as migrations 0002, 0003 and 0005 ran it, frozen with the data each loaded
(frozen/limit_profiles_<migration>.json, copies of limit_profiles.json at the time): a migration is history, so a
database built today from scratch reaches the same rows as one upgraded step by step, whatever the live loader and
data file (headframe.telemetry.limits) become. Not a migration itself (the name starts with "_")."""

import json
from pathlib import Path

FROZEN = Path(__file__).with_name("frozen")
DEFAULT_PROFILE = "QCVN-01-2011-BCT"
ONLY_SOME_MINES = ("_cat3",)  # limits for some mines only (methane category III+): off unless a site enables


def _fields_of(model, values: dict) -> dict:
    """Only the fields this historical model has (0002 runs against a Limit without the later columns)."""
    names = {f.name for f in model._meta.get_fields()}
    return {k: v for k, v in values.items() if k in names}


def load_frozen_limit_profiles(apps, data_file: str) -> int:
    profile_model = apps.get_model("telemetry", "LimitProfile")
    limit_model = apps.get_model("telemetry", "Limit")
    data = json.loads((FROZEN / data_file).read_text(encoding="utf-8"))
    count = 0
    for p in data["profiles"]:
        profile, _ = profile_model.objects.update_or_create(
            code=p["code"],
            defaults=_fields_of(
                profile_model,
                {
                    "name_vi": p.get("name_vi", p["code"])[:200],
                    "name_en": p.get("name_en", "")[:200],
                    "source": p.get("source", ""),
                    "is_default": p["code"] == DEFAULT_PROFILE,
                    "escalate_after_s": int(p.get("escalate_after_s", 120)),
                },
            ),
        )
        for row in p["limits"]:
            action = row.get("action", "alarm")
            limit_model.objects.update_or_create(
                profile=profile,
                code=row["code"],
                defaults=_fields_of(
                    limit_model,
                    {
                        "kind": row["kind"],
                        "location": row.get("location", ""),
                        "direction": row["direction"],
                        "threshold": float(row["threshold"]),
                        "deadband": float(row.get("deadband", 0) or 0),
                        "on_delay_s": int(row.get("on_delay_s", 0) or 0),
                        "off_delay_s": int(row.get("off_delay_s", 0) or 0),
                        "priority": row.get("priority", "high"),
                        "latching": action == "trip",
                        "rate_window_s": int(row.get("rate_window_s", 0) or 0),
                        "no_operator_override": bool(row.get("no_operator_override"))
                        or (action == "trip" and row["kind"] == "ch4_pct"),
                        "action_vi": row.get("action_vi", "")[:300],
                        "clause": row.get("clause", "")[:200],
                        "confirmed": bool(row.get("confirmed", False)),
                        "source": " | ".join(x for x in (row.get("source", ""), row.get("quote", "")) if x),
                        "note": row.get("note", ""),
                        "enabled_by_default": not any(row["code"].endswith(s) for s in ONLY_SOME_MINES),
                    },
                ),
            )
            count += 1
    return count
