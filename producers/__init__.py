"""Things that publish frames to the frames topic: the session publisher and the replay of recordings.

Producers depend on the contracts (``schemas``) and aiokafka only, never on the stream processor.
"""
