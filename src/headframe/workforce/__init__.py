"""Workforce: workers, training certificates, rosters and the lamp room (who is underground now, muster list)."""
