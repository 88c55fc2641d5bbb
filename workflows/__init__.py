"""The deterministic side: ``FlowWorkflow`` interprets a ``FlowSpec`` and only routes."""
