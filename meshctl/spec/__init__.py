"""mesh.yaml -> the frozen ``MeshSpec``: read with line numbers, schema, rules, model.

Imports the foundation (errors, codec, ids) only: never planning, render, aws or sandbox.
"""
