"""Every topic and table, declared once. All but the policies topic are keyed by session id and share one
partition count."""

from __future__ import annotations

from faust.types import TopicT

from streams.app import app, settings
from streams.worker.serializers import AvroCodec

__all__ = [
    "behaviour",
    "control_topic",
    "dead_letter_topic",
    "events_topic",
    "frames_topic",
    "policies_topic",
    "reports_topic",
    "results_topic",
    "reviews",
    "reviews_topic",
    "sessions",
]

_topics = settings.topics


def _topic(name: str, record: str) -> TopicT:
    return app.topic(
        name,
        key_serializer="raw",
        value_serializer=AvroCodec(record),
        partitions=_topics.partitions,
        replicas=_topics.replication_factor,
    )


frames_topic = _topic(_topics.frames, "Frame")
events_topic = _topic(_topics.events, "Observation")
results_topic = _topic(_topics.results, "Result")
control_topic = _topic(_topics.control, "SessionControl")
dead_letter_topic = _topic(_topics.dead_letter, "DeadLetter")
reports_topic = _topic(_topics.reports, "FinalReport")
reviews_topic = _topic(_topics.reviews, "Review")
# Risk policies by "name@version", the document as text (streams.kafka.policies): one partition, compacted.
policies_topic = app.topic(
    _topics.policies, key_serializer="raw", value_serializer="raw", partitions=1, replicas=_topics.replication_factor
)

# Session id -> SessionState as a dict. RocksDB locally, its changelog topic on the broker.
# Keys are the session id's UTF-8 bytes, exactly like the stream keys: table_route then computes the
# same partition for a session as the stream that wrote it. Serializers are the app's defaults
# (key 'raw', value 'json'); Faust tables take them from there.
sessions = app.Table("sessions", default=None, partitions=_topics.partitions, key_type=str)

# Session id -> the behaviour analyser's state (streams.vision.behaviour), written by the detection
# agent from the frames topic, which is keyed by session id the same way.
behaviour = app.Table("behaviour", default=None, partitions=_topics.partitions, key_type=str)

# Session id -> its reviews (Review records, oldest first, bounded), written by the reviews agent. Not
# released with the session: reviewers come back hours or days after it ended.
reviews = app.Table("reviews", default=None, partitions=_topics.partitions, key_type=str)
