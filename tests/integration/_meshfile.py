"""examples/mesh.yaml as a user edits it, shared by the apply tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "mesh.yaml"


class MeshFile:
    """examples/mesh.yaml as data; every edit rewrites the file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data: dict[str, Any] = {}
        self.reset()

    def reset(self) -> None:
        """Back to examples/mesh.yaml as shipped."""
        self.data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
        self.save()

    def save(self) -> None:
        self.path.write_text(yaml.safe_dump(self.data, sort_keys=False), encoding="utf-8")

    def subscription(self, consumer: str, product: str) -> dict[str, Any]:
        subs = self.data["subscriptions"]
        return next(s for s in subs if (s["consumer"], s["product"]) == (consumer, product))

    def edit(self, consumer: str, product: str, **fields: Any) -> None:
        """Set fields of one subscription; a None value removes the field."""
        sub = self.subscription(consumer, product)
        for key, value in fields.items():
            if value is None:
                sub.pop(key, None)
            else:
                sub[key] = value
        self.save()

    def approve(self, consumer: str, product: str, owner: str) -> None:
        self.edit(consumer, product, status="approved", approved_by=owner)

    def remove(self, consumer: str, product: str) -> None:
        self.data["subscriptions"].remove(self.subscription(consumer, product))
        self.save()

    def remove_product(self, product: str) -> None:
        """The product and the subscriptions to it (the file would not validate otherwise)."""
        del self.data["products"][product]
        self.data["subscriptions"] = [
            s for s in self.data["subscriptions"] if s["product"] != product
        ]
        self.save()
