"""Batch benchmarking: runner, executors, storage and reports."""
