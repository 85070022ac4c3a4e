"""Bedrock Converse request bodies checked against AWS's own service model: botocore's `bedrock-runtime` definition
of Converse / ConverseStream (the shapes every AWS SDK is generated from), through botocore's ParamValidator, which
also refuses unknown keys. The body aimux sends over HTTP is the operation's input minus `modelId` (in the URL);
base64 `bytes` of images and documents are checked to decode. Test-only: botocore is in the `test` extra.
"""

from __future__ import annotations

import base64
import binascii
import functools
from typing import Any


@functools.lru_cache(maxsize=1)
def _shapes():
    import botocore.session
    from botocore.validate import ParamValidator

    model = botocore.session.get_session().get_service_model("bedrock-runtime")
    return ParamValidator(), {True: model.operation_model("ConverseStream").input_shape,
                              False: model.operation_model("Converse").input_shape}


def _blobs(node: Any, path: str, errors: list[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "bytes" and path.endswith("source"):
                try:
                    base64.b64decode(value, validate=True)
                except (binascii.Error, TypeError, ValueError):
                    errors.append(f"{path}/bytes is not base64")
            _blobs(value, f"{path}/{key}", errors)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            _blobs(item, f"{path}/{i}", errors)


def converse_errors(body: dict, stream: bool) -> list[str]:
    """The problems botocore's Converse (stream: ConverseStream) input shape finds in `body`; [] when it is valid."""
    validator, shapes = _shapes()
    if "modelId" in body:
        return ["modelId belongs in the URL, not the body"]
    report = validator.validate({"modelId": "amazon.nova-lite-v1:0", **body}, shapes[stream])
    errors = report.generate_report().splitlines() if report.has_errors() else []
    _blobs(body, "", errors)
    return errors
