"""The workforce app's error messages, one module per part: catalogue key → English template (gettext)."""

from headframe.workforce.messages import epidemic, health, income, people, rosters, training, voice

MESSAGES: dict[str, str] = {}
for part in (people, rosters, training, health, epidemic, voice, income):
    MESSAGES.update(part.MESSAGES)
