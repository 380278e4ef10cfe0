"""PNG charts for people: history, forecast and its 80 % interval; a staffing plan."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display needed on servers or in CI

import matplotlib.pyplot as plt
import pandas as pd

from aiops.forecasting.engine import SeriesForecast

MAX_PANELS = 6
HISTORY_WEEKS = 4  # enough to see the weekly rhythm the forecast continues


def _recent(y: pd.Series, step: pd.Timedelta) -> pd.Series:
    return y[y.index > y.index[-1] - HISTORY_WEEKS * pd.Timedelta(days=7) + step]


def plot_forecasts(
    counts: pd.DataFrame, forecasts: list[SeriesForecast], step: pd.Timedelta, path: Path
) -> None:
    """One panel per series (the busiest `MAX_PANELS`): recent history, forecast, interval."""
    shown = forecasts[:MAX_PANELS]
    per = "hour" if step < pd.Timedelta(days=1) else "day"
    fig, axes = plt.subplots(len(shown), 1, figsize=(11, 2.8 * len(shown)), squeeze=False)
    for ax, fc in zip(axes[:, 0], shown, strict=True):
        history = _recent(counts[fc.series], step)
        ax.plot(history.index, history.to_numpy(), color="0.35", lw=1, label="arrivals")
        ax.plot(fc.index, fc.yhat, color="tab:blue", lw=1.5, label="forecast")
        ax.fill_between(
            fc.index, fc.lower, fc.upper, color="tab:blue", alpha=0.2, label="80 % interval"
        )
        ax.set_title(f"tickets opened per {per}: {fc.series}", loc="left", fontsize=10)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    axes[0, 0].legend(loc="upper left", fontsize=8)
    if len(forecasts) > MAX_PANELS:
        fig.suptitle(f"{MAX_PANELS} busiest of {len(forecasts)} series", fontsize=9)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=100)
    plt.close(fig)


def plot_plan(plan: pd.DataFrame, path: Path) -> None:
    """Forecast tickets per hour above, agents needed per hour below (expected and upper)."""
    index = pd.to_datetime(plan["timestamp"].str.rstrip("Z"))
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 6), sharex=True)
    top.plot(index, plan["tickets"], color="tab:blue", lw=1.5, label="forecast")
    top.fill_between(
        index, plan["tickets_lower"], plan["tickets_upper"], color="tab:blue", alpha=0.2,
        label="80 % interval",
    )  # fmt: skip
    top.set_ylabel("tickets / hour")
    top.legend(loc="upper left", fontsize=8)
    bottom.step(index, plan["agents"], where="post", color="tab:green", label="agents (forecast)")
    bottom.step(
        index, plan["agents_upper"], where="post", color="tab:red", ls="--",
        label="agents (upper bound)",
    )  # fmt: skip
    bottom.set_ylabel("agents on tickets")
    bottom.legend(loc="upper left", fontsize=8)
    for ax in (top, bottom):
        ax.grid(alpha=0.3)
        ax.set_ylim(bottom=0)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=100)
    plt.close(fig)
