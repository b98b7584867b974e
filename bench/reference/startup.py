"""The reference scripts' start-up cost: the imports every run pays before doing work."""
import boto3  # noqa: F401
import requests  # noqa: F401  (the seed's requirements: boto3 requests)

print("ok")
