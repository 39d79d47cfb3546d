"""Views of plans, apply results and call statistics: text, markdown (a PR comment), JSON.

Imports planning values and the foundation; never aws or sandbox.
"""
