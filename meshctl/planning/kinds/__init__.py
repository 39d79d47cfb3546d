"""Per-kind planning helpers: desired values and diffs of one resource kind each (pure)."""
