"""Faust web views served by every worker (autodiscovered by the app)."""
