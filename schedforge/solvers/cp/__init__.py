"""OR-Tools CP-SAT formulations, one module per problem."""
