"""Faust agents: each adapts Kafka records to the core (streams.vision, streams.risk) and back.

detection.py  frames -> vision -> observations (``analyse_frames``)
risk.py       observations -> sessions table -> results (``assess_observations``); session control ->
              final results and reports (``control_sessions``); the idle-expiry timer
reviews.py    reviewers' decisions -> the reviews table (``keep_reviews``)
processing.py what happens to a record an agent cannot process: one policy, a dead letter
"""
