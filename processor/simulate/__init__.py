"""`sla-processor simulate`: realistic helpdesk traffic (tickets, responses, noise) for the worker.

`model` is the pure, seeded event stream; `cli` paces it in real time and produces it to Kafka.
"""

from processor.simulate.cli import simulate
from processor.simulate.model import SimConfig, generate

__all__ = ["SimConfig", "generate", "simulate"]
