"""A serverless endpoint through the SDK: deploy, predict, describe, delete."""

from __future__ import annotations

from sagemaker.deserializers import JSONDeserializer
from sagemaker.model import Model
from sagemaker.predictor import Predictor
from sagemaker.serializers import JSONSerializer
from sagemaker.serverless import ServerlessInferenceConfig
from sdk_session import BODY, IMAGE, ROLE, report, session, upload_model

NAME = "sdk-serverless"

sess = session()
model = Model(
    image_uri=IMAGE, model_data=upload_model(sess, "serverless"), role=ROLE, name=NAME,
    env={"SAGEMAKER_PROGRAM": "inference.py"}, predictor_cls=Predictor, sagemaker_session=sess,
)  # fmt: skip
predictor = model.deploy(
    endpoint_name=NAME,
    serverless_inference_config=ServerlessInferenceConfig(memory_size_in_mb=2048, max_concurrency=3),
    serializer=JSONSerializer(), deserializer=JSONDeserializer(), wait=False,
)  # fmt: skip
sess.wait_for_endpoint(NAME, poll=0.1)
answer = predictor.predict(BODY)
described = sess.sagemaker_client.describe_endpoint(EndpointName=NAME)
predictor.delete_model()
predictor.delete_endpoint()
report({"answer": answer, "described": described})
