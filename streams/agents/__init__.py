"""Faust agents: each adapts Kafka records to the core (streams.vision, streams.risk) and back."""
