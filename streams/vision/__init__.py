"""The vision core: plain Python over numpy images, no Kafka. Agents, the CLI and tests call it alike."""

from streams.vision.face import Face, FaceDetector
from streams.vision.image import ImageDecodeError, decode_image
from streams.vision.pipeline import VisionPipeline

__all__ = ["Face", "FaceDetector", "ImageDecodeError", "VisionPipeline", "decode_image"]
