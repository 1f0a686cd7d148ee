"""The gateway's routes, one router per group: ``sessions`` (the resource API), ``seed`` (the seed's
paths, same handlers), ``health``, ``stream`` (the WebSocket)."""
