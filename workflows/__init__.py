"""The deterministic side: the interpreter (``FlowByName``, and ``FlowWorkflow`` for runs typed
``RefinireFlow``) runs a ``FlowSpec`` and only routes."""
