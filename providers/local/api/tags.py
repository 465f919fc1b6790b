"""AddTags, ListTags, DeleteTags, by ARN, for every object the server keeps.

Tags form a map: adding a key that exists replaces its value in place, so a
key never appears twice. A resource holds at most 50 tags, as in SageMaker.
"""

from __future__ import annotations

from providers.local.api.context import Context, Params, Response, tag_list
from providers.local.errors import validation
from providers.local.registry import Record, Table

MAX_TAGS = 50


def _resource(ctx: Context, arn: str) -> tuple[Table, str, Record]:
    found = ctx.registry.by_arn(arn)
    if found is None:
        raise validation(f"Resource {arn} not found.")
    return found


async def add_tags(ctx: Context, params: Params) -> Response:
    table, key, record = _resource(ctx, params["ResourceArn"])
    added = tag_list(params)
    merged = {t["Key"]: t["Value"] for t in record["tags"]}
    merged.update((t["Key"], t["Value"]) for t in added)
    if len(merged) > MAX_TAGS:
        raise validation(f"A resource can have at most {MAX_TAGS} tags; this request would give it {len(merged)}.")
    record["tags"] = [{"Key": k, "Value": v} for k, v in merged.items()]
    ctx.registry.put(table, key, record)
    return {"Tags": added}


async def list_tags(ctx: Context, params: Params) -> Response:
    _, _, record = _resource(ctx, params["ResourceArn"])
    tags = record["tags"]
    start = int(params["NextToken"]) if str(params.get("NextToken") or "").isdigit() else 0
    size = params.get("MaxResults") or MAX_TAGS
    response: Response = {"Tags": tags[start : start + size]}
    if start + size < len(tags):
        response["NextToken"] = str(start + size)
    return response


async def delete_tags(ctx: Context, params: Params) -> Response:
    table, key, record = _resource(ctx, params["ResourceArn"])
    removed = set(params["TagKeys"])
    record["tags"] = [t for t in record["tags"] if t["Key"] not in removed]
    ctx.registry.put(table, key, record)
    return {}


OPERATIONS = {"AddTags": add_tags, "ListTags": list_tags, "DeleteTags": delete_tags}
