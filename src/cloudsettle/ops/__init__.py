"""Operations (issue 10): schedules and the worker, alerts, metrics, health, logs, backups.

The schedule arithmetic (:mod:`cloudsettle.ops.schedule`) is pure; the worker
(:mod:`cloudsettle.ops.worker`) reads an injectable clock, so every time rule
is testable without waiting.
"""
