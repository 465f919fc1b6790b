"""Inference handlers for the autoscaling demo (standard library only).

The model is `model.json` in the archive: a version label, linear weights and a bias.
Each request takes `work_ms` of CPU-free waiting, so a few client threads keep an
instance busy and the invocations per instance climb above the scaling target.

Request (application/json): [x1, x2, x3]      Response: {"version": "v1", "score": 0.42}
"""

import json
import os
import time


def model_fn(model_dir):
    with open(os.path.join(model_dir, "model.json")) as handle:
        return json.load(handle)


def input_fn(body, content_type):
    if content_type.split(";")[0].strip() != "application/json":
        raise ValueError(f"unsupported content type {content_type!r}: send a JSON list of numbers")
    data = json.loads(body)
    return data if isinstance(data, list) else [data]


def predict_fn(features, model):
    time.sleep(model.get("work_ms", 0) / 1000.0)
    score = sum(w * float(x) for w, x in zip(model["weights"], features)) + model["bias"]
    return {"version": model["version"], "score": round(score, 6)}


def output_fn(prediction, accept):
    return json.dumps(prediction), "application/json"
