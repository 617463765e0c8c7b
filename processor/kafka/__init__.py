"""Everything that connects to Kafka builds its connection here: `client` turns the settings
(TLS, SASL) into aiokafka arguments and faust credentials; `admin` checks and creates topics."""
