"""The product's processes started from Python: ``integrity worker`` and ``integrity gateway`` as child
processes (``processes``), and the local stack of the demo, the benchmarks and the tests: the embedded
broker, its topics and a worker (``local``)."""
