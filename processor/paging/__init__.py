"""Paging: `sla.alerts` forwarded to on-call tools (Prometheus Alertmanager, PagerDuty).

Data flows one way: Kafka records -> `incidents.IncidentBook` (pure: which page each incident has
on a target) -> a target (`alertmanager`, `pagerduty`) -> commit. `forwarder` is the wiring.
"""
