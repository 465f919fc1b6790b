"""Inference handlers for the inference-components demo (standard library only).

The model is `model.json` in the archive: its name, a version label and a table of
keywords -> label. It answers the label whose keywords the text mentions most.

Request (application/json): "some text"     Response: {"model": "sentiment", "version": "v2", "label": "positive"}
"""

import json
import os


def model_fn(model_dir):
    with open(os.path.join(model_dir, "model.json")) as handle:
        return json.load(handle)


def input_fn(body, content_type):
    if content_type.split(";")[0].strip() != "application/json":
        raise ValueError(f"unsupported content type {content_type!r}: send a JSON string")
    text = json.loads(body)
    return str(text).lower()


def predict_fn(text, model):
    words = text.split()
    scores = {label: sum(words.count(k) for k in keys) for label, keys in model["keywords"].items()}
    label = max(sorted(scores), key=lambda name: scores[name]) if any(scores.values()) else model["default"]
    return {"model": model["name"], "version": model["version"], "label": label}
