"""One of many small models behind one multi-model endpoint: a greeting in one language.

Each model archive carries this code and its own `greeting.txt`; the endpoint loads
an archive the first time a request names it as `TargetModel`.
"""

import json
import os


def model_fn(model_dir):
    with open(os.path.join(model_dir, "greeting.txt")) as handle:
        return handle.read().strip()


def input_fn(body, content_type):
    return json.loads(body)


def predict_fn(data, model):
    return {"greeting": f"{model}, {data['name']}!"}
