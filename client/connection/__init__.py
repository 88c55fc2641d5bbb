"""Where the client reaches Temporal: the address or the embedded dev server, the data converter
(payloads sealed with ``REFINIRE_PAYLOAD_KEY``) and its codec server for the UI."""
