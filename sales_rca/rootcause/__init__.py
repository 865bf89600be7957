"""Root-cause models: five whys, the sales fishbone, silent voting, proven plays and actions.

Pure models (frozen dataclasses) with no I/O except loading the packaged YAML resources. Every
change is a model in :mod:`~sales_rca.rootcause.operations` (:data:`OPERATIONS`); the
:class:`Workshop` aggregate applies them with every rule; :mod:`sales_rca.session` stores them.
"""

from __future__ import annotations

from sales_rca.rootcause.actions import Action, ActionStatus, TargetMetric
from sales_rca.rootcause.fishbone import CATEGORY_IDS, Category, Cause, load_categories
from sales_rca.rootcause.operations import KEEP, OPERATIONS, Operation
from sales_rca.rootcause.plays import (
    Indicator,
    Play,
    Priority,
    Recommendation,
    Source,
    load_playbook,
    priorities,
    recommend,
)
from sales_rca.rootcause.voting import (
    CauseResult,
    Ranking,
    Vote,
    VoteResult,
    aggregate,
    borda_scores,
    kendalls_w,
    ranks_from_ordering,
)
from sales_rca.rootcause.whys import (
    Evidence,
    Problem,
    Relation,
    Status,
    Why,
    WhyTree,
    validate_tree,
)
from sales_rca.rootcause.workshop import (
    CodeOverride,
    Participant,
    PlaySelection,
    Workshop,
    WorkshopState,
)

__all__ = [
    "CATEGORY_IDS",
    "KEEP",
    "OPERATIONS",
    "Action",
    "ActionStatus",
    "Category",
    "Cause",
    "CauseResult",
    "CodeOverride",
    "Evidence",
    "Indicator",
    "Operation",
    "Participant",
    "Play",
    "PlaySelection",
    "Priority",
    "Problem",
    "Ranking",
    "Recommendation",
    "Relation",
    "Source",
    "Status",
    "TargetMetric",
    "Vote",
    "VoteResult",
    "Why",
    "WhyTree",
    "Workshop",
    "WorkshopState",
    "aggregate",
    "borda_scores",
    "kendalls_w",
    "load_categories",
    "load_playbook",
    "priorities",
    "ranks_from_ordering",
    "recommend",
    "validate_tree",
]
