"""An asynchronous endpoint through the SDK: `AsyncPredictor.predict` and `predict_async`
round trips through S3 (the SDK uploads each input itself), then delete."""

from __future__ import annotations

import os
import time
from typing import Any

from sagemaker.async_inference import AsyncInferenceConfig, WaiterConfig
from sagemaker.deserializers import JSONDeserializer
from sagemaker.exceptions import ObjectNotExistedError
from sagemaker.model import Model
from sagemaker.predictor import Predictor
from sagemaker.serializers import JSONSerializer
from sdk_session import BODY, IMAGE, ROLE, report, session, upload_model

NAME = "sdk-async"
#: `predict` waits for the output and the failure object at once; the waiter of the one
#: that never comes runs to its last attempt, so this also bounds how long the script lingers.
WAIT = WaiterConfig(max_attempts=60, delay=0.1)


def result_of(response: Any, timeout: float = 30.0) -> Any:
    """`get_result()` polled until the answer is in S3, as the SDK's docs show."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return response.get_result()
        except ObjectNotExistedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


sess = session()
model = Model(
    image_uri=IMAGE, model_data=upload_model(sess, "async"), role=ROLE, name=NAME,
    env={"SAGEMAKER_PROGRAM": "inference.py"}, predictor_cls=Predictor, sagemaker_session=sess,
)  # fmt: skip
config = AsyncInferenceConfig(output_path=os.environ["SDK_OUTPUT_URI"], failure_path=os.environ["SDK_FAILURE_URI"])
predictor = model.deploy(
    initial_instance_count=1, instance_type="ml.m5.large", endpoint_name=NAME, async_inference_config=config,
    serializer=JSONSerializer(), deserializer=JSONDeserializer(), wait=False,
)  # fmt: skip
sess.wait_for_endpoint(NAME, poll=0.1)
answer = predictor.predict(BODY, waiter_config=WAIT)
response = predictor.predict_async(BODY["instances"][:1], inference_id="sdk-one")
later = result_of(response)
described = sess.sagemaker_client.describe_endpoint(EndpointName=NAME)
predictor.delete_model()
predictor.delete_endpoint()
report({
    "predictor": type(predictor).__name__, "answer": answer, "later": later,
    "output_path": response.output_path, "failure_path": response.failure_path, "described": described,
})  # fmt: skip
