"""A toy text generator that streams: it says the words of its story one at a time.

`predict_fn` is a generator, so each word it yields is sent to the caller as soon as it
is produced (one PayloadPart of InvokeEndpointWithResponseStream).

Request (application/json): {"max_words": 5}   Response stream (text/plain): "Once ", "upon ", ...
"""

import json
import os
import time


def model_fn(model_dir):
    with open(os.path.join(model_dir, "story.txt")) as handle:
        return handle.read().split()


def input_fn(body, content_type):
    return json.loads(body)


def predict_fn(data, model):
    for word in model[: data.get("max_words", len(model))]:
        time.sleep(0.05)  # as a real model takes time per token
        yield word + " "


def output_fn(prediction, accept):
    return prediction, "text/plain"
