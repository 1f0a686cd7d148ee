"""The HTTP and WebSocket gateway: a thin, stateless producer of frames and session records, and a
follower of Results and final reports. All analysis stays in the workers (``integrity gateway``)."""
