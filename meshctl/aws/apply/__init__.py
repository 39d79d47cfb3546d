"""Writes: the executor and one action module per resource kind."""
