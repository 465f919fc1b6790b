"""A multi-model endpoint through the SDK: `MultiDataModel.deploy`, `add_model` for two
archives, `predict(..., target_model=...)` for each, then delete."""

from __future__ import annotations

import os

from sagemaker.deserializers import JSONDeserializer
from sagemaker.multidatamodel import MultiDataModel
from sagemaker.predictor import Predictor
from sagemaker.serializers import JSONSerializer
from sdk_session import BODY, IMAGE, ROLE, report, session

NAME = "sdk-multi-model"

sess = session()
mme = MultiDataModel(
    name=NAME, model_data_prefix=f"s3://{sess.default_bucket()}/mme/", image_uri=IMAGE, role=ROLE,
    env={"SAGEMAKER_PROGRAM": "inference.py"}, predictor_cls=Predictor, sagemaker_session=sess,
)  # fmt: skip
predictor = mme.deploy(
    initial_instance_count=1, instance_type="ml.m5.large", endpoint_name=NAME,
    serializer=JSONSerializer(), deserializer=JSONDeserializer(), wait=False,
)  # fmt: skip
sess.wait_for_endpoint(NAME, poll=0.1)
mme.add_model(os.environ["SDK_MODEL"], "iris.tar.gz")
mme.add_model(os.environ["SDK_OTHER_MODEL"], "other.tar.gz")
answers = {target: predictor.predict(BODY, target_model=target) for target in ("iris.tar.gz", "other.tar.gz")}
listed = sorted(mme.list_models())
model = sess.sagemaker_client.describe_model(ModelName=NAME)
predictor.delete_model()
predictor.delete_endpoint()
report({"answers": answers, "listed": listed, "container": model["PrimaryContainer"]})
