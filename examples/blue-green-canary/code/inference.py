"""Inference handlers for the blue/green demo scorer (standard library only).

The model is `model.json` in the archive: a version label, linear weights and a bias.
A model with `fail_every: N` raises on every N-th request its instance serves, which
the serving container turns into a 500 (ModelError) — the broken release of the
rollback demo.

Request (application/json): [x1, x2, x3]      Response: {"version": "v2", "score": 0.42}
"""

import itertools
import json
import os

_requests = itertools.count()


def model_fn(model_dir):
    with open(os.path.join(model_dir, "model.json")) as handle:
        return json.load(handle)


def input_fn(body, content_type):
    if content_type.split(";")[0].strip() != "application/json":
        raise ValueError(f"unsupported content type {content_type!r}: send a JSON list of numbers")
    data = json.loads(body)
    return data if isinstance(data, list) else [data]


def predict_fn(features, model):
    fail_every = model.get("fail_every")
    if fail_every and next(_requests) % fail_every == 0:
        raise RuntimeError(f"{model['version']}: simulated failure (1 request in {fail_every})")
    score = sum(w * float(x) for w, x in zip(model["weights"], features)) + model["bias"]
    return {"version": model["version"], "score": round(score, 4)}
