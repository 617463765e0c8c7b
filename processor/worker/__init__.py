"""The live Faust worker: thin wiring around the SLA core (`processor.domain`)."""
