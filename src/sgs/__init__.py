"""sgs: 双公示 decisions streamed through Kafka, checked, deadline-tracked and published to Elasticsearch."""

__version__ = "0.1.0"
