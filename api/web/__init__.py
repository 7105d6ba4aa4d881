"""Helpers shared by the route modules (``api/routes/``), one job per module."""
