"""Model-based methods: MIP (PuLP), CP-SAT, exact algorithms, rolling horizon."""
