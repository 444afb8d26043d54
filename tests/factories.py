"""Factories for tests. Units go through org.services so paths, history and audit are real."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from headframe.org import services

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)


def make_unit(code: str, kind: str, parent: str | None = None, **extra):
    if kind == "site":
        extra.setdefault("site_type", "underground")
    if kind == "position":
        extra.setdefault("position_kind", "longwall_face")
    return services.unit_create(
        actor=None,
        code=code,
        name_vi=f"Đơn vị {code}",
        name_en=f"Unit {code}",
        kind=kind,
        parent_code=parent,
        **extra,
    )


def make_user(username: str, *grants: tuple[str, str], password: str = PASSWORD):
    return services.user_create(actor=None, username=username, grants=list(grants), password=password)
