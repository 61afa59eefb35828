"""Benchmark corpora of YAML journeys derived from every bundled example (deterministic).

    python benchmarks/corpus.py DIR [COUNT]

Each file is one of ``examples/*.journey`` and ``examples/*.yaml`` in YAML form (a DSL example
is converted as ``journey convert --to yaml`` does), made distinct: the journey id, its step,
stage and template names get a suffix, and its numbers vary (the durations of waits, timeouts,
ladder rungs, reentry and coupon expiry all scaled by one factor from 0.5 to 2, caps moved by
one message, the numbers inside conditions and coupon values scaled). The examples' real caps, loops, quiet hours, day waits
and handlers are kept, so the path rules see what operators write. The examples'
configuration (its channel limits and named segments) is copied beside the files.
"""
from __future__ import annotations

import random
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
CONFIG = ".journeylang.toml"
# keys whose string value names a step or a stage
_STEP_REFS = {"name", "then", "timeout", "else", "goto", "breach", "stage"}
_DURATION = re.compile(r"^(\d+)([mhdw])$")
_DURATION_KEYS = {"wait", "within", "expires", "at"}
_NUMBER_IN_TEXT = re.compile(r"(?<![\w.])(\d+)(?![\w.:%])")
_CONDITION_KEYS = {"where", "when", "audience"}
_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


class _Loader(yaml.SafeLoader):
    """YAML as journeylang reads it: only true and false are booleans (``on:`` is a key)."""


class _Dumper(yaml.SafeDumper):
    """Writes ``on`` and ``off`` plain, as the examples do."""


for _cls in (_Loader, _Dumper):
    _cls.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
    _cls.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                               list("tTfF"))


def example_files() -> list[Path]:
    """Every bundled example journey, in name order."""
    return sorted([*EXAMPLES.glob("*.journey"), *EXAMPLES.glob("*.yaml")])


def as_yaml(path: Path) -> tuple[dict, set[str]]:
    """An example journey as YAML data (a DSL file is converted to the YAML form), and the
    names of its steps and stages."""
    from journeylang.frontend import parse_file
    from journeylang.printer import convert_document
    document = parse_file(path)
    text = document.source.text
    if path.suffix == ".journey":
        text = convert_document(document, "yaml")
    journey = document.journey
    names = {stage.name for stage in journey.stages} | {step.name for _, step in journey.steps()}
    return yaml.load(text, Loader=_Loader), names


def _scaled_duration(text: str, factor: float) -> str:
    number, unit = _DURATION.match(text).groups()
    if int(number) == 0:
        return text
    seconds = max(60, round(int(number) * _SECONDS[unit] * factor))
    for unit in ("d", "h", "m"):
        if seconds % _SECONDS[unit] == 0:
            return f"{seconds // _SECONDS[unit]}{unit}"
    return f"{seconds // 60}m"


def _scaled_numbers(text: str, rng: random.Random) -> str:
    factor = rng.choice((0.8, 0.9, 1.1, 1.25))
    return _NUMBER_IN_TEXT.sub(
        lambda m: m.group(1) if int(m.group(1)) < 10 else str(round(int(m.group(1)) * factor)),
        text)


def variant(data: dict, steps: set[str], index: int, seed: int = 11) -> dict:
    """A distinct copy of a journey's YAML data (``steps``: its step and stage names):
    renamed ids, varied numbers."""
    rng = random.Random(seed * 1_000_003 + index)
    suffix, pace = f"_v{index}", rng.choice((0.5, 0.75, 1, 1.5, 2))
    templates = set(data.get("templates") or {})

    def walk(node, key=None):
        if isinstance(node, dict) and key == "steps":  # a migration: old step -> new step
            return {old: walk(new, "then") for old, new in node.items()}
        if isinstance(node, dict):
            return {(k + suffix if key == "templates" else k): walk(v, k) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(item, key) for item in node]
        if not isinstance(node, str):
            if key == "messages" and isinstance(node, int):
                return max(1, node + rng.choice((-1, 0, 1)))
            if key == "value" and isinstance(node, (int, float)) and not isinstance(node, bool):
                return type(node)(node * rng.choice((0.5, 1, 2)))
            return node
        if key in _STEP_REFS and node in steps:
            return node + suffix
        if key == "template" and node in templates:
            return node + suffix
        if key in _DURATION_KEYS and _DURATION.match(node):
            return _scaled_duration(node, pace)
        if key == "reentry" and node.startswith("after ") and _DURATION.match(node[6:]):
            return "after " + _scaled_duration(node[6:], pace)
        if key in _CONDITION_KEYS:
            return _scaled_numbers(node, rng)
        return node

    copied = walk(data)
    copied["journey"] = f"{data['journey']}{suffix}"
    return copied


def write_corpus(folder: Path, count: int, seed: int = 11) -> list[Path]:
    """``count`` distinct YAML journeys, cycling through every bundled example."""
    folder.mkdir(parents=True, exist_ok=True)
    config = (EXAMPLES / CONFIG).read_text(encoding="utf-8")
    # earlier versions are named by file; the variants' migrations are checked without them
    (folder / CONFIG).write_text(re.sub(r"(?m)^versions = .*$", "", config), encoding="utf-8")
    sources = [(path.stem, *as_yaml(path)) for path in example_files()]
    paths = []
    for index in range(count):
        stem, data, names = sources[index % len(sources)]
        path = folder / f"{stem}_{index:05d}.yaml"
        path.write_text(yaml.dump(variant(data, names, index, seed), Dumper=_Dumper,
                                  allow_unicode=True, sort_keys=False, width=100),
                        encoding="utf-8")
        paths.append(path)
    return paths


if __name__ == "__main__":
    import sys
    write_corpus(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else len(example_files()))
