"""Local search per problem (numba move evaluation), one module per problem."""
