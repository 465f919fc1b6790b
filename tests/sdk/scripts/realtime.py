"""A real-time endpoint with data capture through the SDK: deploy, predict, describe, delete."""

from __future__ import annotations

import os

from sagemaker.deserializers import JSONDeserializer
from sagemaker.model import Model
from sagemaker.model_monitor import DataCaptureConfig
from sagemaker.predictor import Predictor
from sagemaker.serializers import JSONSerializer
from sdk_session import BODY, IMAGE, ROLE, report, session, upload_model

NAME = "sdk-realtime"

sess = session()
model = Model(
    image_uri=IMAGE, model_data=upload_model(sess, "realtime"), role=ROLE, name=NAME,
    env={"SAGEMAKER_PROGRAM": "inference.py"}, predictor_cls=Predictor, sagemaker_session=sess,
)  # fmt: skip
capture = DataCaptureConfig(
    enable_capture=True, sampling_percentage=100, destination_s3_uri=os.environ["SDK_CAPTURE_URI"]
)
predictor = model.deploy(
    initial_instance_count=1, instance_type="ml.m5.large", endpoint_name=NAME, data_capture_config=capture,
    serializer=JSONSerializer(), deserializer=JSONDeserializer(), wait=False,
)  # fmt: skip
sess.wait_for_endpoint(NAME, poll=0.1)
answers = [predictor.predict(BODY), predictor.predict(BODY["instances"][:1])]
described = sess.sagemaker_client.describe_endpoint(EndpointName=NAME)
predictor.delete_model()
predictor.delete_endpoint()
report({"answers": answers, "described": described})
