"""Glue between the measured Analysis and the decision engine (kept apart: the Analysis model still moves)."""
