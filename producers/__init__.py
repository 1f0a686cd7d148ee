"""Things that publish frames to the frames topic: replay of recordings, and the sample session."""
