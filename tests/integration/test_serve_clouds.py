"""``skybatch serve`` buying from a real cloud: EC2 on a moto server, set up from the
environment as a user would, planned and launched by the control loop."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta

import pytest

from adapters.base import MANAGED_BY_TAG, MANAGED_BY_VALUE
from scheduler.api.client import SkybatchClient
from scheduler.clouds import real_cloud
from scheduler.domain import JobSpec, JobState, Resources, utcnow
from scheduler.errors import InvalidArgument
from tests.conftest import ServiceFactory
from tests.support import aws
from tests.support.moto_server import MotoServer


def aws_env(moto: MotoServer, **extra: str) -> dict[str, str]:
    return {
        **aws.aws_environ(moto),
        "SKYBATCH_AWS_AMI": aws.MOTO_AMI,
        "SKYBATCH_AWS_REGION": moto.region,
        "SKYBATCH_AWS_ZONES": ",".join(aws.ZONES),
        "SKYBATCH_AWS_INSTANCE_TYPES": ",".join(aws.INSTANCE_TYPES),
        "SKYBATCH_AWS_ENDPOINT": f"http://{moto.host}:{moto.ec2_port}",
        "SKYBATCH_AWS_QUOTAS": f"aws/{moto.region}/vcpu=64,aws/{moto.region}/spot-vcpu=8",
        **extra,
    }


@pytest.fixture
def moto(moto_server: MotoServer) -> MotoServer:
    moto_server.reset()
    return moto_server


@pytest.fixture
def env_for(moto: MotoServer) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.update(aws_env(moto))
    yield
    os.environ.clear()
    os.environ.update(saved)


def test_aws_from_the_environment(moto: MotoServer) -> None:
    port = real_cloud("aws", aws_env(moto))
    assert port.name == "aws"
    assert {o.instance_type for o in port.list_offerings()} == set(aws.INSTANCE_TYPES)
    assert {q.pool: q.capacity for q in port.quotas()} == {
        f"aws/{moto.region}/vcpu": 64.0,
        f"aws/{moto.region}/spot-vcpu": 8.0,
    }


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        ({"SKYBATCH_AWS_AMI": ""}, "cloud aws", "SKYBATCH_AWS_AMI"),
        ({"AWS_SECRET_ACCESS_KEY": ""}, "cloud aws", "AWS_SECRET_ACCESS_KEY"),
        ({"SKYBATCH_AWS_QUOTAS": "aws/x/vcpu:8"}, "SKYBATCH_AWS_QUOTAS", "pool=amount"),
    ],
)
def test_bad_cloud_settings_name_the_variable(
    moto: MotoServer, change: dict[str, str], field: str, problem: str
) -> None:
    with pytest.raises(InvalidArgument) as err:
        real_cloud("aws", aws_env(moto, **change))
    assert err.value.field == field
    assert problem in err.value.problem


def test_serve_refuses_an_unknown_cloud_with_exit_2() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "scheduler", "serve", "--cloud", "ibm", "--bind", "127.0.0.1:0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    assert "--cloud: unknown cloud 'ibm'" in run.stderr


@pytest.mark.usefixtures("env_for")
def test_the_loop_plans_and_launches_on_ec2_and_cancel_terminates(
    service_factory: ServiceFactory, moto: MotoServer
) -> None:
    svc = service_factory(control_loop=False, clouds=("local", "aws"))
    assert set(svc.catalog.clouds) == {"local", "aws"}
    with SkybatchClient(svc.address) as c:
        c.wait_ready()
        spec = JobSpec(
            name="on-ec2",
            command=("python", "-c", "print('hi')"),
            estimated_runtime=timedelta(minutes=20),
            deadline=utcnow() + timedelta(hours=2),
            resources=Resources(vcpus=2, memory_gib=4),
            allowed_clouds=("aws",),
        )
        [(job, _)] = c.submit([spec])
        svc.loop.tick()
        view = c.get(job.id)
        assert view.state is JobState.LAUNCHING, view.state_reason
        attempt = view.attempts[0]
        assert attempt.placement.cloud == "aws"
        tags = {MANAGED_BY_TAG: MANAGED_BY_VALUE, "skybatch-job": job.id}
        [instance] = aws.instances(moto, tags)
        assert instance["InstanceId"] == attempt.node_id
        svc.loop.tick()  # the same attempt again: still one instance
        assert len(aws.instances(moto, tags)) == 1
        c.cancel(job.id)
        svc.loop.tick()
        assert aws.instance_state(moto, attempt.node_id) in ("shutting-down", "terminated")
