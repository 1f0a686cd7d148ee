"""Kafka plumbing: client options and their security, topic admin, reading topics, following Results
and final reports, partitioning, the embedded broker and its fixup (every tansu workaround, one switch)."""
