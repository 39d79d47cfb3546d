"""One dependency graph over a plan's changes, read twice: the plan order and the apply waves.

Pure (standard library only). The planner orders its changes with ``topological_order``: every
change after what it requires, and among the changes that are ready, the one with the smallest
sort key first, so the order is the kind order wherever the requirements allow it. The applier
reads the same edges back from the plan (``Change.depends_on``) with ``apply_waves``: the plan's
steps in order, each levelled by the graph so a change runs after the changes it requires.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Mapping, Sequence
from graphlib import TopologicalSorter
from itertools import groupby
from typing import Any

from meshctl.planning.plan import Change


def topological_order(
    requires: Mapping[str, Iterable[str]], key: Callable[[str], Any]
) -> list[str]:
    """Every node of ``requires`` after the nodes it requires; ready nodes by smallest ``key``.

    A required node missing from ``requires`` is an error: the caller keeps only edges to nodes
    of the graph. A cycle raises ``graphlib.CycleError`` (a planner bug, never a user error).
    """
    sorter = TopologicalSorter(requires)
    unknown = {d for deps in requires.values() for d in deps} - requires.keys()
    if unknown:
        raise AssertionError(f"requirements outside the graph: {sorted(unknown)}")
    sorter.prepare()
    ready = [(key(n), n) for n in sorter.get_ready()]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        _, node = heapq.heappop(ready)
        order.append(node)
        sorter.done(node)
        for n in sorter.get_ready():
            heapq.heappush(ready, (key(n), n))
    return order


def levels(requires: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The graph's levels: level 0 requires nothing, level n only nodes of levels below n."""
    sorter = TopologicalSorter(requires)
    sorter.prepare()
    out: list[list[str]] = []
    while sorter.is_active():
        ready = sorter.get_ready()
        out.append(list(ready))
        sorter.done(*ready)
    return out


def apply_waves(changes: Sequence[Change]) -> list[list[Change]]:
    """Waves to run one after the other, each in plan order; a wave's changes are independent.

    Consecutive changes of the same kind and action form a step (the executor batches them);
    steps run in plan order, because the kind order also stands for requirements no change
    states (a registered location before grants on it, the catalog policy before cross-account
    grants). Inside a step, the graph's levels (member roles before the mesh roles that trust
    them, a mesh database before the links to it).
    """
    waves: list[list[Change]] = []
    for _, group in groupby(changes, key=lambda c: (c.kind, c.action)):
        step = {c.address: c for c in group}
        position = {a: i for i, a in enumerate(step)}
        # Only edges to earlier changes: a plan read from a file cannot make a cycle.
        graph = {
            a: [d for d in c.depends_on if position.get(d, position[a]) < position[a]]
            for a, c in step.items()
        }
        for level in levels(graph):
            waves.append([step[a] for a in sorted(level, key=position.__getitem__)])
    return waves
