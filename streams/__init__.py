"""Interview-integrity stream processor: Faust agents over a vision core and a risk core."""
