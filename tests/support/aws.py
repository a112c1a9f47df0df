"""The EC2 and S3 adapters pointed at a moto server, and an independent view of moto.

``boto3`` (installed with moto) is the independent view: tests count instances and
make stray ones with it, so what they check does not go through the libcloud code
under test.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import boto3

from adapters.clouds.aws_auth import AwsCredentials
from adapters.clouds.ec2 import Ec2Config
from tests.support.moto_server import MotoServer

#: One of moto's built-in images (amzn2-ami-hvm-2.0.20180810-x86_64-gp2).
MOTO_AMI = "ami-04681a1dbd79675a5"
ZONES = ("us-east-1a", "us-east-1b")
INSTANCE_TYPES = ("t3.micro", "t3.small", "m5.large")
LIVE_STATES = ["pending", "running", "stopping", "stopped", "shutting-down"]


def ec2_config(moto: MotoServer, **overrides: Any) -> Ec2Config:
    config = Ec2Config(
        ami=MOTO_AMI,
        region=moto.region,
        zones=ZONES,
        instance_types=INSTANCE_TYPES,
        credentials=AwsCredentials(moto.access_key, moto.secret_key),
        host=moto.host,
        port=moto.ec2_port,
        secure=False,
    )
    return dataclasses.replace(config, **overrides)


def aws_environ(moto: MotoServer) -> dict[str, str]:
    """What a node's environment would hold: the credentials, nothing else."""
    return {"AWS_ACCESS_KEY_ID": moto.access_key, "AWS_SECRET_ACCESS_KEY": moto.secret_key}


def s3_uri(moto: MotoServer, bucket: str, prefix: str = "") -> str:
    path = f"/{prefix}" if prefix else ""
    return f"s3://{bucket}{path}?endpoint=http://{moto.host}:{moto.port}&region={moto.region}"


def client(moto: MotoServer, service: str) -> Any:
    """A boto3 client talking to moto directly (no bridge: botocore reads moto fine)."""
    return boto3.client(
        service,
        region_name=moto.region,
        endpoint_url=f"http://{moto.host}:{moto.port}",
        aws_access_key_id=moto.access_key,
        aws_secret_access_key=moto.secret_key,
    )


def instances(moto: MotoServer, tags: Mapping[str, str]) -> list[dict[str, Any]]:
    """Live (not terminated) instances carrying ``tags``, as moto itself lists them."""
    filters = [{"Name": f"tag:{k}", "Values": [v]} for k, v in tags.items()]
    filters.append({"Name": "instance-state-name", "Values": LIVE_STATES})
    answer = client(moto, "ec2").describe_instances(Filters=filters)
    return [i for r in answer["Reservations"] for i in r["Instances"]]


def instance_state(moto: MotoServer, instance_id: str) -> str:
    answer = client(moto, "ec2").describe_instances(InstanceIds=[instance_id])
    [instance] = [i for r in answer["Reservations"] for i in r["Instances"]]
    return str(instance["State"]["Name"])


def run_stray_instance(moto: MotoServer) -> str:
    """An instance someone else launched: none of our tags."""
    answer = client(moto, "ec2").run_instances(
        ImageId=MOTO_AMI,
        InstanceType="t3.micro",
        MinCount=1,
        MaxCount=1,
        TagSpecifications=[
            {"ResourceType": "instance", "Tags": [{"Key": "owner", "Value": "someone-else"}]}
        ],
    )
    return str(answer["Instances"][0]["InstanceId"])
