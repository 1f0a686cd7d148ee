"""The vision core: plain Python over numpy images, no Kafka. Agents, the CLI and tests call it alike."""

from streams.vision.behaviour import BEHAVIOURS, BehaviourAnalyser
from streams.vision.face import Face, FaceDetector
from streams.vision.image import ImageDecodeError, decode_image
from streams.vision.pipeline import VisionPipeline

__all__ = [
    "BEHAVIOURS",
    "BehaviourAnalyser",
    "Face",
    "FaceDetector",
    "ImageDecodeError",
    "VisionPipeline",
    "decode_image",
]
