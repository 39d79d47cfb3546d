"""The typer app: one module per command group over the engine, and the one error handler.

The sandbox commands import the sandbox (moto) only when they run.
"""
