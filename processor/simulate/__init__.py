"""Realistic helpdesk traffic (tickets, responses, noise) for the worker.

`model` is the pure, seeded event stream; `run` paces it in real time and produces it to Kafka;
the `sla-processor simulate` command is `processor.commands.simulate`.
"""

from processor.simulate.model import SimConfig, generate

__all__ = ["SimConfig", "generate"]
