"""The engine: per-record lanes (check, convert) and the execution back-ends that run them (local processes over
byte ranges, `datasets.map` batches, Ray / Spark shards)."""
