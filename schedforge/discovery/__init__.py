"""The heuristic evolution loop: templates, proposers, sandbox, archive, export."""
