"""Inference handlers for the quickstart iris classifier.

SageMaker (and smstate's local server) calls these four functions, as the SageMaker
inference toolkit does: model_fn once at start-up, then input_fn, predict_fn and
output_fn for every request.

Request bodies it accepts:
  application/json    {"instances": [[5.1, 3.5, 1.4, 0.2]]}  or  [[5.1, 3.5, 1.4, 0.2]]
  text/csv            5.1,3.5,1.4,0.2   (one flower per line)
  application/x-npy   a 2-D float array saved with numpy.save
Response (always application/json): {"predictions": ["setosa"]}
"""

import io
import json
import os

import joblib
import numpy as np


def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))


def input_fn(body, content_type):
    media_type = content_type.split(";")[0].strip()
    if media_type == "application/json":
        data = json.loads(body)
        rows = data["instances"] if isinstance(data, dict) else data
        return np.asarray(rows, dtype=float)
    if media_type == "text/csv":
        return np.loadtxt(io.StringIO(body.decode("utf-8")), delimiter=",", ndmin=2)
    if media_type == "application/x-npy":
        return np.load(io.BytesIO(body), allow_pickle=False)
    raise ValueError(f"unsupported content type {content_type!r}: send JSON, CSV or NPY")


def predict_fn(data, model):
    return model.predict(data)


def output_fn(prediction, accept):
    return json.dumps({"predictions": prediction.tolist()}), "application/json"
