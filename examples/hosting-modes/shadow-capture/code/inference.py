"""A toy scorer: the current model and its candidate differ only in their weight."""

import json
import os


def model_fn(model_dir):
    with open(os.path.join(model_dir, "weight.txt")) as handle:
        return float(handle.read())


def input_fn(body, content_type):
    return json.loads(body)


def predict_fn(data, model):
    return {"score": round(model * sum(data["features"]), 3)}
