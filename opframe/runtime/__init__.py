"""The operator runtime: wiring informers, queues, workers and handlers together."""
