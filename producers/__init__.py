"""What a platform embeds to publish frames: ``SessionPublisher`` (frames and session records on
Kafka, ``publisher``), footage published as a live session (``footage``), a webcam or stream captured
live (``capture``), image and video reading (``images``), and the gateway's Python client (``client``).

Producers depend on the contracts (``schemas``), aiokafka, OpenCV and httpx, never on the stream
processor (``streams`` imports ``producers``, not the other way round; an import-linter contract says
so). The gateway, which checks records with the workers' own rules, lives in ``streams.gateway``.
"""
