"""`aiops anomalies` (CONTRACT.md §2.2): score a metric series online, one point at a time."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from aiops.errors import UsageError
from connectors.files import DeadLetter, InputError, write_jsonl_atomic
from connectors.metrics import read_series_csv
from models.anomaly import SeriesAnomalyDetector
from pipeline.times import format_time


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "anomalies",
        help="score a metric series (timestamp,value CSV) for anomalies, online",
        description="Score every point of SERIES.csv using only the points before it and write "
        "timestamp,value,anomaly_score (score in [0, 1], high at the onset of an anomaly). "
        "Rows that cannot be read are reported as dead letters, never scored or dropped "
        "silently.",
    )
    p.add_argument("--input", type=Path, required=True, metavar="SERIES.csv")
    p.add_argument("--out", type=Path, required=True, metavar="SCORES.csv")
    p.add_argument(
        "--dead-letter",
        type=Path,
        metavar="FILE.jsonl",
        help="write unreadable rows here (default: one line each on stderr)",
    )
    return p


def run(args: argparse.Namespace) -> int:
    if not args.input.is_file():
        raise UsageError(f"--input {args.input}: no such file")
    out: Path = args.out
    if not out.parent.is_dir():
        raise UsageError(f"--out {out}: directory {out.parent} does not exist")
    tmp = out.with_name(f".{out.name}.tmp")
    detector = SeriesAnomalyDetector()
    dead: list[DeadLetter] = []
    points = 0
    started = time.process_time()
    try:
        with tmp.open("w", encoding="utf-8", newline="") as handle:
            handle.write("timestamp,value,anomaly_score\n")
            for item in read_series_csv(args.input):
                if isinstance(item, DeadLetter):
                    dead.append(item)
                    continue
                score = detector.score_and_learn(item.value, item.time)
                handle.write(f"{format_time(item.time)},{item.value!r},{score:.6f}\n")
                points += 1
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, out)
    except InputError as exc:
        tmp.unlink(missing_ok=True)
        raise UsageError(str(exc)) from None
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise UsageError(f"cannot write {out}: {exc.strerror or exc}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    cpu = time.process_time() - started
    _report_dead_letters(dead, args.dead_letter)
    rate = f", {points / cpu:,.0f} points/s" if cpu > 0 and points else ""
    print(f"{points} points scored, {len(dead)} dead letters{rate}; scores in {out}")
    return 0


def _report_dead_letters(dead: list[DeadLetter], path: Path | None) -> None:
    if path is None:
        for letter in dead:
            print(f"dead letter: {letter.file}:{letter.line}: {letter.error}", file=sys.stderr)
        return
    try:
        write_jsonl_atomic(path, (letter.to_dict() for letter in dead))
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
