"""Generate realistic YAML journeys for benchmarks (deterministic for a seed)."""
from __future__ import annotations

import random
from pathlib import Path

import yaml

CHANNELS = ["wecom", "sms", "email", "push", "miniprogram"]
EVENTS = ["replied", "clicked", "coupon_claimed", "page_viewed", "cart_viewed"]
TIERS = ["gold", "silver", "bronze"]


def journey(index: int, steps: int = 40, seed: int = 7) -> dict:
    """One journey of about ``steps`` steps in four stages, with every common step kind."""
    rng = random.Random(seed * 100_003 + index)
    stages, templates, made = [], {}, 0
    per_stage = steps // 4
    for s in range(4):
        body = []
        while len(body) < per_stage - 1:
            made += 1
            name = f"s{s}_{len(body)}"
            kind = rng.choice(["send", "send", "wait", "wait_for", "branch", "split", "tag", "set",
                               "handoff", "coupon"])
            if kind == "send":
                template = f"t{made}"
                templates[template] = {"zh": f"{{{{ customer.name }}}}，第 {made} 条消息。",
                                       "en": f"Hi {{{{ customer.name }}}}, message {made}."}
                body.append({"name": name, "send": {"via": rng.choice(CHANNELS), "template": template}})
                body.append({"wait": f"{rng.randint(1, 3)}d"})
            elif kind == "wait":
                body.append({"name": name, "wait": f"{rng.randint(2, 48)}h"})
            elif kind == "wait_for":
                body.append({"name": name, "wait": {"for": rng.choice(EVENTS), "within": "2d"}})
            elif kind == "branch":
                body.append({"name": name, "branch": [
                    {"when": f'customer.tier == "{rng.choice(TIERS)}" and cart.value >= {rng.randint(50, 500)}',
                     "then": f"{name}_vip"},
                    {"else": f"{name}_next"}]})
                body.append({"name": f"{name}_vip", "tag": ["vip_path"], "then": f"{name}_next"})
                body.append({"name": f"{name}_next", "wait": "1h"})
            elif kind == "split":
                body.append({"name": name, "split": [
                    {"arm": "a", "percent": "50%", "then": f"{name}_a"},
                    {"arm": "b", "percent": "50%", "then": f"{name}_next"}]})
                body.append({"name": f"{name}_a", "set": {"attribute": "customer.arm", "value": "a"},
                             "then": f"{name}_next"})
                body.append({"name": f"{name}_next", "wait": "1h"})
            elif kind == "tag":
                body.append({"name": name, "tag": [f"seen_{made}"]})
            elif kind == "set":
                body.append({"name": name, "set": {"attribute": "customer.score", "expr": "customer.score + 1"}})
            elif kind == "handoff":
                body.append({"name": name, "handoff": {"to": "agent", "within": "30m"}})
            else:
                body.append({"name": name, "coupon": {"code": f"C{made}", "value": 10, "expires": "7d"}})
        body.append({"name": f"s{s}_after", "wait": "1d"})
        stages.append({"stage": f"stage_{s}", "steps": body})
    stages[-1]["steps"].append({"exit": "completed"})
    return {
        "journey": f"generated_{index}", "title": f"Generated journey {index}", "version": 1,
        "owner": "bench", "entry": {"on": "signed_up", "where": "consent.wecom"},
        "reentry": "after 30d", "goals": [{"name": "bought", "on": "order_paid", "within": "30d"}],
        "exits": [{"on": "unsubscribed", "as": "opted_out"}],
        "policy": {"cap": {"messages": 3, "per": "1d"}, "quiet": "22:00-08:00",
                   "consent": CHANNELS},
        "templates": templates, "stages": stages,
        # the score starts at 0; every engagement event is counted wherever the run is
        "attributes": {"score": {"type": "number", "default": 0}},
        "vars": {f"{event}_count": 0 for event in EVENTS},
        "handlers": [{"on": event, "do": [{"set": {"attribute": f"{event}_count",
                                                   "expr": f"{event}_count + 1"}}]}
                     for event in EVENTS],
    }


def write_journeys(folder: Path, count: int, steps: int = 40) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        path = folder / f"journey_{index:04d}.yaml"
        path.write_text(yaml.safe_dump(journey(index, steps), allow_unicode=True, sort_keys=False),
                        encoding="utf-8")
        paths.append(path)
    return paths


if __name__ == "__main__":
    import sys
    write_journeys(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 10)
