"""Recording sessions from the topics into Avro files, and replaying them (``integrity record``/``replay``)."""
