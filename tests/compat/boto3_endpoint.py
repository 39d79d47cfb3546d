"""Runs INSIDE the helper library's own virtualenv: boto3 1.20 does not read AWS_ENDPOINT_URL, so
every client and resource is given the sandbox's endpoint here. Imported by the scripts that drive
the library (tests/compat/drive_helper_library.py, bench/drivers/helper_library_flow.py) before
they import the library."""

import boto3
import boto3.session


def route_boto3_to(endpoint):
    """Every boto3 client and resource made after this call reaches ``endpoint``."""
    client, resource = boto3.session.Session.client, boto3.session.Session.resource

    def with_endpoint(original):
        def wrapped(self, *args, **kwargs):
            kwargs.setdefault("endpoint_url", endpoint)
            return original(self, *args, **kwargs)

        return wrapped

    boto3.session.Session.client = with_endpoint(client)
    boto3.session.Session.resource = with_endpoint(resource)
    top_level = boto3.resource
    boto3.resource = lambda *a, **k: top_level(*a, **{"endpoint_url": endpoint, **k})
