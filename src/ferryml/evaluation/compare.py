"""The champion gate: is the candidate at least as good as the model in production?

Both models score the same held-out rows; a paired bootstrap
(:func:`~ferryml.evaluation.bootstrap.paired_bootstrap`) gives an interval for each metric's
difference. The candidate must be *non-inferior* on every listed metric (the interval's
worse end within the margin: absolute for ranking metrics, a share of the champion's value
for costs) and *better* on one metric (the estimate, or the whole interval with
``require_significant``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ferryml.evaluation.bootstrap import Interval, ModelScores, paired_bootstrap
from ferryml.evaluation.config import LOWER_IS_BETTER, ChampionGate
from ferryml.evaluation.data import HeldOut
from ferryml.evaluation.gates.base import (
    Check,
    Contender,
    Economics,
    GateResult,
    skipped,
    verdict,
)
from ferryml.evaluation.gates.quality import period_metrics

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def champion_gate(
    candidate: Contender,
    champion: Contender | None,
    data: HeldOut,
    config: ChampionGate,
    economics: Economics,
) -> GateResult:
    if not config.enabled:
        return skipped("champion", "disabled in gates.champion")
    if champion is None:
        return skipped("champion", f"no model holds the alias {config.alias!r}: nothing to beat")
    if candidate.run_id is not None and candidate.run_id == champion.run_id:
        return skipped("champion", "the candidate is the champion")
    better_on = config.better_on or economics.primary_metric
    metrics = list(dict.fromkeys([*config.non_inferior, better_on]))
    intervals = paired_bootstrap(
        data.y,
        ModelScores(candidate.scores(data), candidate.threshold),
        ModelScores(champion.scores(data), champion.threshold),
        data.fn_costs,
        fp_cost=economics.fp_cost,
        fixed_fpr=economics.fixed_fpr,
        metrics=metrics,
        resamples=config.resamples,
        confidence=config.confidence,
        seed=config.seed,
    )
    theirs = period_metrics(champion, data, economics)
    mine = period_metrics(candidate, data, economics)
    checks = [_non_inferior(m, intervals[m], theirs[m], config) for m in config.non_inferior]
    checks.append(_better(better_on, intervals[better_on], config))
    level = f"{config.confidence:.0%}"
    summary = f"{better_on} {mine[better_on]:.4g} vs champion {theirs[better_on]:.4g}"
    from ferryml.training.plots import png

    return verdict(
        "champion",
        checks,
        summary,
        details={
            "champion": champion.label,
            "confidence": level,
            "resamples": config.resamples,
            "candidate_metrics": mine,
            "champion_metrics": theirs,
            "deltas": {m: interval.as_dict() for m, interval in intervals.items()},
        },
        images={"deltas": png(_forest(intervals, level))},
    )


def _non_inferior(
    metric: str, interval: Interval, champion_value: float, config: ChampionGate
) -> Check:
    where = f"[{interval.low:+.4g}, {interval.high:+.4g}]"
    if metric in LOWER_IS_BETTER:
        allowed = config.margin * abs(champion_value)
        return Check(
            f"{metric} not worse",
            interval.high,
            f"delta's upper bound <= +{allowed:.4g} ({config.margin:.0%} of the champion's)",
            interval.high <= allowed,
            f"delta {interval.estimate:+.4g}, interval {where}",
        )
    return Check(
        f"{metric} not worse",
        interval.low,
        f"delta's lower bound >= -{config.margin:g}",
        interval.low >= -config.margin,
        f"delta {interval.estimate:+.4g}, interval {where}",
    )


def _better(metric: str, interval: Interval, config: ChampionGate) -> Check:
    lower = metric in LOWER_IS_BETTER
    if config.require_significant:
        value = interval.high if lower else interval.low
        limit = "interval entirely " + ("below 0" if lower else "above 0")
    else:
        value = interval.estimate
        limit = "delta " + ("< 0" if lower else "> 0")
    passed = value < 0 if lower else value > 0
    return Check(f"{metric} better", value, limit, passed, f"delta {interval.estimate:+.4g}")


def _forest(intervals: dict[str, Interval], level: str) -> Figure:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.0, 0.9 + 0.5 * len(intervals)), layout="constrained")
    axes = figure.subplots(1, len(intervals), squeeze=False)[0]
    for ax, (metric, interval) in zip(axes, intervals.items(), strict=True):
        ax.errorbar(
            [interval.estimate],
            [0],
            xerr=[[interval.estimate - interval.low], [interval.high - interval.estimate]],
            fmt="o",
            capsize=4,
        )
        ax.axvline(0, color="gray", linestyle="--")
        ax.set_yticks([])
        ax.set_title(metric, fontsize=9)
    figure.suptitle(f"candidate - champion ({level} paired bootstrap)", fontsize=10)
    return figure


__all__ = ["champion_gate"]
