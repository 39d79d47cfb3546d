"""Test support shared by tests of several directories (unit and integration).

Importable as ``support``: tests/conftest.py sits in a directory without ``__init__.py``, so
pytest puts tests/ on ``sys.path``. Nothing here may import from a test directory.
"""
