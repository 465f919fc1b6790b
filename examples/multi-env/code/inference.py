"""Inference handlers for the multi-env example (standard library only).

The model is `model.json` in the archive: its name. Every request is answered with the
model's name and the environment it serves in, so each endpoint can be told apart.
"""

import json
import os


def model_fn(model_dir):
    with open(os.path.join(model_dir, "model.json")) as handle:
        return json.load(handle)


def input_fn(body, content_type):
    return body


def predict_fn(data, model):
    return {"model": model["name"], "environment": os.environ.get("ENVIRONMENT", "")}


def output_fn(prediction, accept):
    return json.dumps(prediction), "application/json"
