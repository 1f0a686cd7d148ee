"""Benchmarks: `integrity bench vision|pipeline|risk`. Printed figures and a JSON file, never timed tests."""
