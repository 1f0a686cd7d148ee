"""Kafka plumbing: topic admin, client options, reading topics, the embedded broker and its fixup,
and the worker as a child process (what the demo, the benchmarks and the integration tests run)."""
