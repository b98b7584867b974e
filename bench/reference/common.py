"""Shared bits of the reference scripts: the S3 client exactly as the seed configures it."""
import os

import boto3
from botocore.config import Config


def s3_client():
    return boto3.client(
        "s3",
        endpoint_url=os.environ["AWS_ENDPOINT_URL"],
        aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
        region_name="auto",
        config=_config(),
    )


def _config():
    try:  # botocore >= 1.36: as R2 needs, no SDK-default CRC32 checksums
        return Config(request_checksum_calculation="when_required", response_checksum_validation="when_required")
    except TypeError:  # older botocore never sent them
        return Config()


def wheel_name(meta):
    return f'{meta["name"]}-{meta["version"]}-{meta["matlab_tag"]}-{meta["abi_tag"]}-{meta["platform_tag"]}'
