"""Reads: one reader per service, and the snapshot ``read_mesh`` assembles from them."""
