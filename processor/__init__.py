"""sla-processor: watches support tickets against their SLA and raises alerts before a breach."""

__version__ = "0.1.0"
