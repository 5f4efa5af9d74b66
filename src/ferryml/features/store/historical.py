"""Historical retrieval: Feast's point-in-time join, one view at a time, every row kept.

For each entity row, the feature row of the same key with the greatest timestamp
``t <= event_timestamp`` (inclusive), and, when the view has a TTL,
``t >= event_timestamp - ttl`` (inclusive too); no such row gives nulls; two rows of one key
at the same time: Feast takes either. TTL plays no part online: ``read_online`` returns the
last row written, however old. Feast's file store *drops* an entity row that one view has no
match for (losing the other views' values too) and collapses duplicate (key, time) rows:
ferryml asks Feast one view at a time for the distinct (key, time) pairs and keeps every
input row, in order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ferryml.errors import DataError, InvalidInputError
from ferryml.features.store.feast_errors import calling_feast
from ferryml.features.store.online import View

if TYPE_CHECKING:
    import pandas as pd
    from feast import FeatureStore

EVENT_TIMESTAMP = "event_timestamp"


def point_in_time(
    store: Callable[[], FeatureStore],
    views: dict[str, View],
    refs: Sequence[str],
    entity_df: pd.DataFrame,
    *,
    full_feature_names: bool,
) -> pd.DataFrame:
    """``entity_df`` with one column per feature of ``refs`` (distinct ``"view:field"``
    references, each view of them in ``views``), each as of its row's event time.

    ``store`` builds the Feast store; it is called only when a view is queried.
    """
    import pandas as pd

    columns = {
        ref: ref.replace(":", "__") if full_feature_names else ref.split(":", 1)[1] for ref in refs
    }
    clashes = sorted({c for c in columns.values() if list(columns.values()).count(c) > 1})
    if clashes:
        raise InvalidInputError(
            f"features {clashes} come from more than one view",
            hint="ask with full_feature_names=True to get 'view__field' columns",
        )
    keys = sorted({view.join_key for view in views.values()})
    missing = [col for col in [*keys, EVENT_TIMESTAMP] if col not in entity_df.columns]
    if missing:
        raise InvalidInputError(
            f"the entity frame lacks the columns {missing} needed for {list(refs)}; "
            f"it has {list(entity_df.columns)}"
        )
    frame = entity_df.loc[:, [*keys, EVENT_TIMESTAMP]].reset_index(drop=True)
    frame[EVENT_TIMESTAMP] = pd.to_datetime(frame[EVENT_TIMESTAMP], utc=True)
    out = entity_df.copy()
    out[EVENT_TIMESTAMP] = frame[EVENT_TIMESTAMP].to_numpy()
    # One Feast query per view: Feast's file store joins views one after the other and
    # drops an entity row that one view has no row for, losing the other views' values.
    for view_name, view in views.items():
        view_refs = [ref for ref in refs if ref.split(":", 1)[0] == view_name]
        on = [view.join_key, EVENT_TIMESTAMP]
        with calling_feast(f"retrieve historical features of {view_name!r}", DataError):
            result = (
                store()
                .get_historical_features(
                    entity_df=frame.loc[:, on].drop_duplicates(ignore_index=True),
                    features=view_refs,
                    full_feature_names=full_feature_names,
                )
                .to_df()
            )
        result[EVENT_TIMESTAMP] = pd.to_datetime(result[EVENT_TIMESTAMP], utc=True)
        wanted = [columns[ref] for ref in view_refs]
        merged = frame.loc[:, on].merge(
            result.loc[:, [*on, *wanted]], on=on, how="left", validate="many_to_one"
        )
        for ref in view_refs:
            values = merged[columns[ref]]
            if view.dtypes[ref.split(":", 1)[1]] in ("int", "timestamp"):
                values = values.astype("Int64")
            out[columns[ref]] = values.array
    return out
