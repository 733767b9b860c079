"""Fixtures: a district built from Python.

A root node (its own key is the district root) creates the federation document and
certifies community nodes; the certificates reach a community node through an export file,
the same way a real node would receive them from the root's office.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import linli


@dataclass
class District:
    root: linli.Node
    federation: str
    tmp: Path
    _sent: int = 0

    def community(self, org: str, street: str = "beishi") -> linli.Node:
        """A new node of community ``org``, certified and holding the federation document."""
        node = linli.Node.init(self.tmp / org, org=org, root=self.root.node_id)
        self.root.issue_certificate(self.federation, node.node_id, "community", org, street)
        export = self.tmp / f"federation-{org}.linli"
        self.root.export(export)
        report = node.import_(export)
        assert report.complete and not report.invalid and report.refused == 0
        return node

    def street(self, org: str = "beishi") -> linli.Node:
        """A new node of street ``org``, certified by the root and holding the federation."""
        node = linli.Node.init(self.tmp / org, org=org, root=self.root.node_id)
        self.root.issue_certificate(self.federation, node.node_id, "street", org)
        self.send(self.root, node)
        return node

    def send(self, src: linli.Node, dst: linli.Node) -> linli.ImportReport:
        """Carries everything ``src`` holds to ``dst`` through an export file."""
        self._sent += 1
        export = self.tmp / f"send-{self._sent}.linli"
        src.export(export)
        report = dst.import_(export)
        assert report.complete and not report.invalid and report.refused == 0, report
        return report


@pytest.fixture
def district(tmp_path: Path) -> Iterator[District]:
    root = linli.Node.init(tmp_path / "root", org="heping")
    try:
        yield District(root, root.create_federation(), tmp_path)
    finally:
        root.close()


@pytest.fixture
def dianye(district: District) -> Iterator[linli.Node]:
    node = district.community("dianye")
    try:
        yield node
    finally:
        node.close()
