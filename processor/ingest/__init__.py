"""`sla-processor ingest`: helpdesk webhooks (Zendesk, Jira Service Management) and plain events
in, validated input events on the Kafka topic out.

Data flows one way: HTTP request -> signature check -> adapter (vendor payload to event dicts) ->
`processor.domain.events` validation -> producer (acks=all, idempotent) -> 2xx. The adapters are
pure functions of the payload, the mapping table and the customer directory.
"""
