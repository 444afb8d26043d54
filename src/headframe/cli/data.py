"""Data in and out: shift figures and sensor registries from files, the MQTT broker's configuration, backup and
restore; `ingest` and `simulate` are delegated to their own programs."""

from __future__ import annotations

import sys
from pathlib import Path

from headframe.cli.common import PROG, CommandError


def cmd_import_actuals(args) -> int:
    from headframe.core.audit import channel
    from headframe.core.errors import PermissionDenied, ValidationFailed
    from headframe.org.services import user_by_username
    from headframe.production.excel import error_line, import_actuals_workbook

    actor = user_by_username(args.as_user) if args.as_user else None
    try:
        with open(args.file, "rb") as fh:
            content = fh.read()
    except OSError as exc:
        raise CommandError(f"cannot read {args.file}: {exc.strerror or exc}") from None
    try:
        with channel("cli"):
            result = import_actuals_workbook(
                actor=actor, file=content, confirm_implausible=args.confirm_implausible
            )
    except (ValidationFailed, PermissionDenied) as exc:
        for item in exc.items:
            print(error_line(item), file=sys.stderr)
        print(
            f"{PROG} import-actuals: error: {args.file} refused ({len(exc.items)} error(s)), nothing stored",
            file=sys.stderr,
        )
        return 1
    total = result.created + result.updated + result.unchanged
    print(
        f"imported {total} figures: {result.created} new, {result.updated} corrected, "
        f"{result.unchanged} unchanged ({result.late} late)"
    )
    return 0


def cmd_import_sensors(args) -> int:
    from headframe.core.audit import channel
    from headframe.org.services import user_by_username
    from headframe.telemetry.registry_io import sensors_import

    try:
        content = Path(args.file).read_bytes()
    except OSError as exc:
        raise CommandError(f"cannot read {args.file}: {exc.strerror or exc}") from None
    actor = user_by_username(args.as_user) if args.as_user else None
    with channel("cli"):
        result = sensors_import(actor=actor, content=content, filename=Path(args.file).name)
    print(f"{result['created']} sensor(s) created, {result['updated']} updated from {args.file}")
    return 0


def cmd_ingest(args) -> int:
    """`headframe ingest`: the MQTT worker owns its options (argv handed over untouched); its watchdog also
    runs the other apps' scans (people overdue underground)."""
    from headframe.cli.serving import register_scans
    from headframe.telemetry.mqtt import main

    register_scans()
    return main(list(args.args))


def cmd_simulate(args) -> int:
    """`headframe simulate`: the simulator owns its options (argv handed over untouched)."""
    from headframe.telemetry.simulator import main

    return main(list(args.args))


def cmd_mqtt_config(args) -> int:
    from headframe.telemetry.bridge_config import site_bridge, write_bridge
    from headframe.telemetry.broker_config import BrokerConfigError, Listener, generate

    listener = Listener(
        port=args.port,
        bind=args.bind,
        tls_port=args.tls_port,
        cafile=args.tls_cafile or "",
        certfile=args.tls_certfile or "",
        keyfile=args.tls_keyfile or "",
    )
    try:
        bridge = None  # checked before anything is written
        if getattr(args, "bridge_to", None) or getattr(args, "site", None):
            if not (args.bridge_to and args.site):
                raise BrokerConfigError("--bridge-to HOST:PORT and --site CODE go together")
            bridge = site_bridge(args.site, args.bridge_to, topic_root=args.topic_root)
        result = generate(
            Path(args.outdir),
            ingest_user=args.ingest_user,
            topic_root=args.topic_root,
            config_dir=Path(args.config_dir) if args.config_dir else None,
            listener=listener,
            persistence_location=args.persistence_location or "",
            rotate=tuple(args.rotate or ()),
            rotate_all=args.rotate_all,
            hasher=args.hasher,
            lamp_readers=getattr(args, "lamp_readers", False),
            bridge_accounts=getattr(args, "bridge_accounts", False),
        )
        bridge_file = write_bridge(Path(args.outdir), bridge) if bridge is not None else None
    except (BrokerConfigError, OSError) as exc:
        raise CommandError(str(exc)) from None
    print(
        f"{result.accounts} gateway account(s) and the ingest account written to {result.folder} "
        f"(mosquitto.conf, passwd, acl): {len(result.created)} new, {len(result.rotated)} new password(s), "
        f"{len(result.removed)} removed"
    )
    if bridge_file is not None:
        print(f"bridge to the group broker written to {bridge_file}: install it on the mine's broker")
    if result.created or result.rotated:
        print(
            f"new passwords ({result.hasher}) are in {result.folder / 'credentials.txt'}: hand them out, "
            "then delete that file",
            file=sys.stderr,
        )
    return 0


def cmd_backup(args) -> int:
    from headframe.core.backup import BackupError, backup

    try:
        manifest = backup(Path(args.dir))
    except (BackupError, OSError) as exc:
        raise CommandError(str(exc)) from None
    database = manifest["database"]
    media = len(manifest["files"]) - 1
    print(
        f"backup written to {args.dir}: {database['engine']} database ({sum(database['tables'].values()):,} rows in "
        f"{len(database['tables'])} tables, {len(database['migrations'])} migrations applied), {media} media "
        f"file(s), checksums in {args.dir}/manifest.json"
    )
    return 0


def cmd_restore(args) -> int:
    from headframe.core.backup import BackupError, restore

    try:
        manifest = restore(Path(args.dir), force=args.force)
    except (BackupError, OSError) as exc:
        raise CommandError(str(exc)) from None
    from headframe.core.schema_guard import known_migrations

    applied = {tuple(m) for m in manifest["database"]["migrations"]}
    pending = len(known_migrations() - applied)
    print(
        f"restored the backup of {manifest['created_at']} ({manifest['database']['engine']}, "
        f"{len(manifest['files']) - 1} media file(s)); checksums, integrity and row counts verified"
        + (
            f"; {pending} migration(s) of this version not applied yet: run `headframe migrate`"
            if pending
            else ""
        )
    )
    return 0


def cmd_readings_to_victoriametrics(args) -> int:
    """Copy the raw readings kept in SQL from before the switch to VictoriaMetrics into it (resumable)."""
    import time

    from django.conf import settings

    from headframe.telemetry.storage import reading_store
    from headframe.telemetry.storage.victoria import (
        CopyProgress,
        VictoriaMetricsReadingStore,
        VictoriaMetricsUnavailable,
        history_copy,
    )

    if args.batch < 1:
        raise CommandError("--batch must be at least 1")
    store = reading_store()
    if not isinstance(store, VictoriaMetricsReadingStore):
        raise CommandError(
            f"readings go to {settings.READING_STORE!r}: set HEADFRAME_READING_STORE=victoriametrics and "
            "HEADFRAME_VICTORIAMETRICS_URL first"
        )
    if not store.client.healthy():
        raise CommandError(f"VictoriaMetrics at {store.url} does not answer /health")
    last = CopyProgress("", 0, False, args.after or "")
    said = time.monotonic()

    def report(step: CopyProgress) -> None:
        nonlocal last, said
        last = step
        if step.done or time.monotonic() - said >= 2:
            state = "done" if step.done else f"resume point {step.resume}"
            print(f"{step.copied:,} readings copied; {step.table}: {state}", flush=True)
            said = time.monotonic()

    try:
        copied = history_copy(store, batch=args.batch, after=args.after or "", progress=report)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    except VictoriaMetricsUnavailable as exc:
        resume = f"; carry on with --after {last.resume}" if last.resume else ""
        raise CommandError(f"{exc} after {last.copied:,} readings{resume}") from None
    print(f"{copied:,} readings copied to VictoriaMetrics at {store.url}; the SQL rows are left in place")
    return 0
