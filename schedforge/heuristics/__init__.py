"""Numba-compiled constructive rules and local search, one module per problem."""
