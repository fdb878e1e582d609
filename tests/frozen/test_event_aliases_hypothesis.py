"""The frozen build's faster event aliasing names every event as stock botocore does.

build/anti-bloat.yml rewrites botocore.hooks.EventAliaser._alias_event_name to
split a name once and test aliases with `in`; the result must not change for
any name, aliased or not.
"""

from __future__ import annotations

import botocore.handlers
import botocore.hooks
from hypothesis import example, given
from hypothesis import strategies as st

from tests.frozen.antibloat import rewritten_module

_edited = rewritten_module("botocore.hooks")

# Names made of alias keys (dotted ones included), their targets, event
# prefixes and arbitrary parts, so that generated names hit aliases often.
_parts = st.one_of(
    st.sampled_from(sorted(botocore.hooks.EVENT_ALIASES)),
    st.sampled_from(sorted(set(botocore.hooks.EVENT_ALIASES.values()))),
    st.sampled_from(["before-call", "after-call", "request-created", "*", ""]),
    st.text(alphabet="abcdefgh-.", max_size=8),
)
_names = st.lists(_parts, max_size=5).map(".".join)


def _aliased(module: object, name: str) -> str:
    """A fresh aliaser's name for `name` (no cache shared between calls)."""
    aliaser = module.EventAliaser(module.HierarchicalEmitter())  # type: ignore[attr-defined]
    result: str = aliaser._alias_event_name(name)
    return result


@given(_names)
@example("before-call.apigateway.GetRestApi")
@example("docs.request-params.elasticloadbalancing.X")
@example("request-created.cloudsearchdomain.Search")
@example("")
@example("..")
def test_edited_aliaser_names_events_as_stock(name: str) -> None:
    assert _aliased(_edited, name) == _aliased(botocore.hooks, name)


def test_edited_aliaser_names_every_builtin_event_as_stock() -> None:
    names = [entry[0] for entry in botocore.handlers.BUILTIN_HANDLERS]

    edited = [_aliased(_edited, name) for name in names]
    stock = [_aliased(botocore.hooks, name) for name in names]

    assert edited == stock
    # The comparison covers renamed events, not only untouched ones.
    assert sum(a != n for a, n in zip(stock, names, strict=True)) > 0
