"""The informer machinery: Reflector, DeltaFIFO, Indexer and SharedIndexInformer."""
