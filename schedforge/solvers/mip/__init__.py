"""PuLP formulations, one module per problem; backend ``cbc`` or ``highs``."""
