from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from genealogy.services import snapshot_record
from tests.remix.factories import NodeFactory

pytestmark = pytest.mark.django_db


def test_snapshots_are_one_per_node_and_instant():
    node = NodeFactory()
    at = timezone.now()
    snapshot_record(node=node, views=10, likes=1, shares=0, captured_at=at)
    snapshot_record(node=node, views=25, likes=2, shares=1, captured_at=at + timedelta(hours=1))
    assert node.snapshots.latest().views == 25
    with pytest.raises(ValidationError, match="already exists"):
        snapshot_record(node=node, views=11, likes=1, shares=0, captured_at=at)
    assert node.snapshots.count() == 2
