"""Alarm notification: on-call rosters per unit, and a transactional outbox delivered by a worker with retries."""
