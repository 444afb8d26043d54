import pytest
from django.db import DatabaseError, connection, transaction

from headframe.core.audit import channel
from headframe.core.errors import ValidationFailed
from headframe.core.models import AppendOnlyError, AuditEntry
from headframe.org import services
from headframe.org.models import Unit
from tests.factories import make_unit


def test_unit_create_records_who_what_and_after_values(tree, users):
    with channel("api"):
        unit = services.unit_create(
            actor=users.admin_a,
            code="A-M2",
            name_vi="Mỏ mới",
            kind="site",
            parent_code="A",
            site_type="open_pit",
        )
    entry = AuditEntry.objects.get(object_type="org.unit", object_id=str(unit.pk), action="create")
    assert entry.actor == users.admin_a
    assert entry.actor_name == "admin_a"
    assert entry.channel == "api"
    assert entry.unit_path == "/G/A/A-M2/"
    assert entry.after["code"] == "A-M2"
    assert entry.after["site_type"] == "open_pit"
    assert entry.before is None


def test_update_records_only_changed_fields_before_and_after(tree, users):
    services.unit_update(
        actor=users.admin_a, unit=tree.a_m1, changes={"name_vi": "Mỏ Núi Đá", "name_en": "Unit A-M1"}
    )
    entry = AuditEntry.objects.filter(object_type="org.unit", action="update").latest("id")
    assert entry.before == {"name_vi": "Đơn vị A-M1"}
    assert entry.after == {"name_vi": "Mỏ Núi Đá"}


def test_update_that_changes_nothing_writes_no_audit_row(tree, users):
    count = AuditEntry.objects.count()
    changed = services.unit_update(actor=users.admin_a, unit=tree.a_m1, changes={"name_vi": "Đơn vị A-M1"})
    assert changed is False
    assert AuditEntry.objects.count() == count


def test_failed_write_leaves_neither_change_nor_audit_row(tree, users):
    count = AuditEntry.objects.count()
    with pytest.raises(ValidationFailed):
        services.unit_create(actor=users.admin_a, code="A", name_vi="dup", kind="site", parent_code="A-M1")
    assert AuditEntry.objects.count() == count
    assert Unit.objects.filter(code="A").count() == 1


def test_audit_row_rolls_back_with_the_change(tree, users):
    count = AuditEntry.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        make_unit("A-M9", "site", "A")
        raise RuntimeError("power cut")
    assert not Unit.objects.filter(code="A-M9").exists()
    assert AuditEntry.objects.count() == count


def test_audit_entries_cannot_be_changed_or_deleted_through_the_app(tree):
    entry = AuditEntry.objects.first()
    entry.action = "delete"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).update(action="delete")
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.all().delete()


def test_database_refuses_update_of_audit_rows(tree):
    entry = AuditEntry.objects.first()
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE core_auditentry SET action = 'delete' WHERE id = %s", [entry.pk])
    entry.refresh_from_db()
    assert entry.action == "create"


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="DELETE trigger is installed on PostgreSQL only"
)
def test_postgresql_refuses_delete_of_audit_rows(tree):
    entry = AuditEntry.objects.first()
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM core_auditentry WHERE id = %s", [entry.pk])
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_audit_shows_related_units_by_code(tree):
    entry = AuditEntry.objects.get(object_type="org.unit", object_id=str(tree.a_m1.pk), action="create")
    assert entry.after["parent"] == "A"
