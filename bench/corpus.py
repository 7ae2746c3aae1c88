#!/usr/bin/env python3
"""Builds the benchmark corpora from a fixed seed.

Each corpus is a folder holding `config/` and, for the statistics-heavy one,
`statistics/`, laid out as a panel's data folder would be:

  panel     about 2,000 small text files, 5 MB: peer configurations, JSON
            settings, key files, templates
  stats     1 GiB in about 200 files: one 512 MiB statistics database, the rest
            a mix of logs (compressible), rotated archives (incompressible) and
            binary counters (in between)
  tiny      50,000 tiny files spread over 250 folders

The same seed gives the same bytes on every machine: every byte comes from
Python's Mersenne Twister seeded per file. `--scale` shrinks every size and
count for a quick run.

Usage: corpus.py OUT_DIR NAME [--scale S] [--seed N]
"""

import argparse
import os
import random
import shutil
import sys

MIB = 1 << 20

# Byte maps that lower the entropy of random bytes: each random byte becomes
# one of a few symbols, so deflate finds a range of ratios without any
# repeated text.
WORDS = (
    b"peer handshake rx tx bytes allowed endpoint keepalive session "
    b"interface address dns mtu table preup postdown listen port "
    b"2024-03-01T12:00:00Z INFO WARN DEBUG connected disconnected "
)


def symbol_table(alphabet: bytes) -> bytes:
    return bytes(alphabet[i % len(alphabet)] for i in range(256))


HEX_TABLE = symbol_table(b"0123456789abcdef")
COUNTER_TABLE = symbol_table(bytes([0, 0, 0, 0, 1, 2, 3, 7, 15, 31, 63, 127, 255, 8, 16, 4]))
TEXT_TABLE = symbol_table(WORDS)


def log_text(rng: random.Random, size: int) -> bytes:
    """Log-like lines: a timestamp, a level, a peer and a few counters."""
    parts = []
    total = 0
    levels = ("INFO", "INFO", "INFO", "WARN", "DEBUG")
    events = ("handshake", "connected", "disconnected", "rekey", "transfer")
    second = rng.randrange(1_700_000_000, 1_710_000_000)
    while total < size:
        second += rng.randrange(0, 5)
        line = (
            f"{second} {rng.choice(levels)} peer={rng.randrange(4096):04d} "
            f"event={rng.choice(events)} rx={rng.randrange(1 << 32)} "
            f"tx={rng.randrange(1 << 28)} rtt={rng.randrange(900)}ms\n"
        ).encode()
        parts.append(line)
        total += len(line)
    return b"".join(parts)[:size]


def database(rng: random.Random, size: int) -> bytes:
    """Pages of binary counters with empty tails, as a statistics store
    keeps them."""
    page = 4096
    used = rng.randrange(2048, 3584)
    pages = []
    for _ in range(size // page):
        used = max(1024, min(4000, used + rng.randrange(-64, 65)))
        header = rng.randbytes(16)
        body = rng.randbytes(used - 16).translate(COUNTER_TABLE)
        pages.append(header + body + bytes(page - used))
    data = b"".join(pages)
    return data + bytes(size - len(data))


def mixed_file(rng: random.Random, kind: str, size: int) -> bytes:
    if kind == "random":
        return rng.randbytes(size)
    if kind == "hex":
        return rng.randbytes(size).translate(HEX_TABLE)
    if kind == "words":
        return rng.randbytes(size).translate(TEXT_TABLE)
    if kind == "log":
        return log_text(rng, size)
    return database(rng, size)


def write(path: str, data: bytes) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(data)


def peer_config(rng: random.Random, index: int) -> bytes:
    key = rng.randbytes(32).hex()
    preshared = rng.randbytes(32).hex()
    return (
        f"# peer {index}\n[Peer]\nPublicKey = {key}\nPresharedKey = {preshared}\n"
        f"AllowedIPs = 10.{index // 250 % 250}.{index % 250}.{rng.randrange(1, 254)}/32\n"
        f"PersistentKeepalive = {rng.choice((0, 15, 25))}\n"
    ).encode()


def user_json(rng: random.Random, index: int, size: int) -> bytes:
    fields = []
    while sum(len(field) for field in fields) < size:
        fields.append(
            f'  "field{len(fields)}": "{rng.randbytes(rng.randrange(4, 24)).hex()}",\n'
        )
    body = "".join(fields)
    return f'{{\n  "id": {index},\n{body}  "enabled": true\n}}\n'.encode()


def build_panel(out: str, scale: float, seed: int) -> None:
    """About 2,000 files, 5 MB, all text."""
    rng = random.Random(seed)
    count = max(20, int(2000 * scale))
    target = int(5_000_000 * scale)
    config = os.path.join(out, "config")
    total = 0
    for index in range(count):
        remaining = count - index
        mean = max(64, (target - total) // remaining)
        folder = ("wireguard/peers", "panel/users", "panel/templates", "keys")[index % 4]
        size = max(32, int(rng.expovariate(1 / mean)))
        if folder == "wireguard/peers":
            data = peer_config(rng, index)
            data += log_text(rng, max(0, size - len(data)))
        elif folder == "panel/users":
            data = user_json(rng, index, size)
        elif folder == "keys":
            data = rng.randbytes(min(size, 512)).hex().encode()
        else:
            data = mixed_file(rng, "words", size)
        name = f"{folder}/{index // 400:02d}/item-{index:05d}"
        write(os.path.join(config, name), data)
        total += len(data)
    write(os.path.join(config, "panel.json"), b'{"version": 3, "name": "bench"}\n')


def build_stats(out: str, scale: float, seed: int) -> None:
    """1 GiB in about 200 files: one 512 MiB database, 190 files of mixed
    kinds making up the other 512 MiB, and a few configuration files."""
    rng = random.Random(seed)
    big = int(512 * MIB * scale)
    rest = int(512 * MIB * scale)
    config = os.path.join(out, "config")
    statistics = os.path.join(out, "statistics")
    for index in range(10):
        write(os.path.join(config, f"wireguard/peer-{index}.conf"), peer_config(rng, index))

    # The one large file is written in pieces so that memory stays low.
    path = os.path.join(statistics, "traffic.db")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        left = big
        while left > 0:
            piece = min(left, 16 * MIB)
            handle.write(database(rng, piece))
            left -= piece

    # Sizes drawn log-uniformly, then scaled to sum to the rest exactly.
    kinds = ("log", "random", "database", "hex", "words")
    count = 190
    weights = [2 ** rng.uniform(0, 12) for _ in range(count)]
    scale_factor = rest / sum(weights)
    sizes = [max(1, int(weight * scale_factor)) for weight in weights]
    sizes[-1] += rest - sum(sizes)
    for index, size in enumerate(sizes):
        kind = kinds[index % len(kinds)]
        name = f"{kind}/{index // 50:02d}/{kind}-{index:03d}.dat"
        write(os.path.join(statistics, name), mixed_file(rng, kind, size))


def build_tiny(out: str, scale: float, seed: int) -> None:
    """50,000 files of 10 to 300 bytes in 250 folders."""
    rng = random.Random(seed)
    count = max(100, int(50_000 * scale))
    config = os.path.join(out, "config")
    for folder in range(250):
        os.makedirs(os.path.join(config, f"peers/{folder:03d}"), exist_ok=True)
    for index in range(count):
        size = rng.randrange(10, 300)
        data = f"peer {index} {rng.randbytes(size // 2).hex()}\n".encode()[:size]
        path = os.path.join(config, f"peers/{index % 250:03d}/{index:05d}.conf")
        with open(path, "wb") as handle:
            handle.write(data)


BUILDERS = {"panel": build_panel, "stats": build_stats, "tiny": build_tiny}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("name", choices=sorted(BUILDERS))
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=20240301)
    arguments = parser.parse_args()

    # Built beside the target and renamed, so a half-built corpus is never
    # taken for a whole one.
    partial = arguments.out + ".partial"
    shutil.rmtree(partial, ignore_errors=True)
    os.makedirs(partial)
    BUILDERS[arguments.name](partial, arguments.scale, arguments.seed)
    shutil.rmtree(arguments.out, ignore_errors=True)
    os.rename(partial, arguments.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
