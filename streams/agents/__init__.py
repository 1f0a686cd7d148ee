"""Faust agents: each adapts Kafka records to the core (streams.vision, streams.risk) and back.

detection.py  frames -> vision -> observations (``analyse_frames``)
risk.py       observations -> sessions table -> results (``assess_observations``); session control ->
              final results and reports (``control_sessions``); the idle-expiry timer
reviews.py    reviewers' decisions -> the reviews table (``keep_reviews``)
stage.py      what happens to each record an agent reads: handled, skipped as already answered, forwarded
              to its key's partition, or a dead letter with the reason (one policy for every agent)
"""
