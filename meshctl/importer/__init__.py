"""A live mesh (an ``ObservedMesh``) -> mesh-file text, for ``meshctl import``. Pure.

Imports spec, planning and the foundation; the reads it needs live in ``aws/read/``.
"""
