"""Helpers the test layers share: frames of real photos (``frames``) and a real broker's topics (``kafka``)."""
