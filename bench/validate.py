"""Validation throughput on realistic Xinyang (信阳市) records: validate + normalize + deadline, one core.

    .venv/bin/python bench/validate.py [-n 100000] [--headers english|chinese] [--subjects N] [--seed 7]
                                       [--profile]

Generates licence and penalty records (half each) with valid unified codes and ID numbers, 20 issuing
authorities across 信阳市 and its districts, a few natural persons, and dates over 2024–2025; then times
`sgs.core.validate.validate` over all of them and prints records/s. The goal is ≥ 50,000 records/s.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import time
from datetime import date

from sgs.connectors.simulate import records
from sgs.core.calendar import default_calendar
from sgs.core.validate import validate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--headers", choices=["english", "chinese"], default="english")
    parser.add_argument("--subjects", type=int, default=0, help="draw subjects from a pool of this size (0: unique)")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    batch = records(args.n, args.seed, args.headers == "chinese", args.subjects)
    calendar = default_calendar()
    today = date(2025, 12, 31)
    validate(*batch[0], today=today, calendar=calendar)  # load the table and calendar outside the timing
    # The generated batch is input, not work: keep the collector from re-scanning it during the run (a
    # stream worker holds one small batch at a time, not 100,000 records).
    gc.collect()
    gc.freeze()

    def run() -> int:
        return sum(validate(kind, raw, today=today, calendar=calendar).publishable for kind, raw in batch)

    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
    started = time.perf_counter()
    valid = run()
    elapsed = time.perf_counter() - started
    if args.profile:
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    print(
        f"{args.n} records ({args.headers} headers, "
        f"{f'{args.subjects} subjects' if args.subjects else 'unique subjects'}), {valid} valid, {elapsed:.2f} s: "
        f"{args.n / elapsed:,.0f} records/s (validate + normalize + deadline, one core)"
    )


if __name__ == "__main__":
    main()
