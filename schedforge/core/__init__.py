"""The shared contracts: results, errors, instances, the registry and solve()."""
