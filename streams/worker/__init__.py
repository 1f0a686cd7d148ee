"""The Faust worker's own machinery, below the app and its agents: the Avro codec Faust uses
(``serializers``), the patches that restore Faust's delivery guarantees (``faust_acks``, ``faust_order``),
the records the agents have in hand at a stop (``in_hand``), per-session turns (``turns``), how far each
partition has been processed (``progress``), dead-letter records (``dead_letters``) and the Prometheus
metrics (``metrics``). Nothing here imports the app: the app and the agents import it."""
