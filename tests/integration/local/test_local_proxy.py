"""Each load balancer is a real reverse proxy routing to healthy targets of its target group."""

from __future__ import annotations

import http.client
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from hivemind.local.procs import free_port, port_open
from hm_local_testkit import wait_for

pytestmark = pytest.mark.slow


class _Target(BaseHTTPRequestHandler):
    """A tiny app: / echoes what arrived, /health answers 200."""

    def log_message(self, *args: Any) -> None:
        pass

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        if self.path == "/health":
            data = b"ok"
        else:
            data = json.dumps({"method": self.command, "path": self.path, "body": body,
                               "headers": {k.lower(): v for k, v in self.headers.items()},
                               "server": self.server.server_address[0]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _answer


def _serve(address: str, port: int) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((address, port), _Target)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def balancer(aws: Callable[[str], Any], default_subnets: list[str],
             launch: Callable[..., str]) -> Iterator[dict[str, Any]]:
    elbv2, ec2 = aws("elbv2"), aws("ec2")
    vpc = ec2.describe_subnets(SubnetIds=default_subnets)["Subnets"][0]["VpcId"]
    name = f"t{uuid.uuid4().hex[:10]}"
    port = free_port()
    tg = elbv2.create_target_group(Name=name, Protocol="HTTP", Port=port, VpcId=vpc, HealthCheckPath="/health",
                                   HealthCheckIntervalSeconds=5, HealthCheckTimeoutSeconds=2,
                                   HealthyThresholdCount=2, UnhealthyThresholdCount=2,
                                   Matcher={"HttpCode": "200-299"})["TargetGroups"][0]
    lb = elbv2.create_load_balancer(Name=name, Subnets=default_subnets)["LoadBalancers"][0]
    elbv2.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
                          DefaultActions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}])
    instance_id = launch()
    address = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]["PrivateIpAddress"]
    yield {"lb": lb, "tg": tg, "instance_id": instance_id, "address": address, "port": port}
    for listener in elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]:
        elbv2.delete_listener(ListenerArn=listener["ListenerArn"])
    elbv2.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])
    elbv2.delete_target_group(TargetGroupArn=tg["TargetGroupArn"])


def _health(aws: Callable[[str], Any], tg_arn: str) -> dict[str, Any]:
    [description] = aws("elbv2").describe_target_health(TargetGroupArn=tg_arn)["TargetHealthDescriptions"]
    return description["TargetHealth"]


def _request(dns_name: str, method: str = "GET", path: str = "/", body: bytes | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    host, port = dns_name.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_the_dns_name_is_a_local_proxy(balancer: dict[str, Any]) -> None:
    host, port = balancer["lb"]["DNSName"].split(":")
    assert host == "127.0.0.1"
    assert port_open(host, int(port))


def test_traffic_flows_to_a_healthy_target_and_stops_when_it_dies(
        aws: Callable[[str], Any], balancer: dict[str, Any]) -> None:
    tg_arn, dns = balancer["tg"]["TargetGroupArn"], balancer["lb"]["DNSName"]
    aws("elbv2").register_targets(TargetGroupArn=tg_arn, Targets=[{"Id": balancer["instance_id"]}])
    # Nothing listens yet: the target fails its checks and the balancer has nowhere to send traffic.
    unhealthy = wait_for(lambda: (h := _health(aws, tg_arn))["State"] == "unhealthy" and h, 30, "unhealthy")
    assert unhealthy["Reason"] == "Target.FailedHealthChecks"
    status, body = _request(dns)
    assert status == 503
    assert balancer["tg"]["TargetGroupName"] in body.decode()
    assert balancer["instance_id"] in body.decode()

    server = _serve(balancer["address"], balancer["port"])
    try:
        wait_for(lambda: _health(aws, tg_arn)["State"] == "healthy", 30, "the target to become healthy")
        status, body = _request(dns, "POST", "/echo?x=1", b'{"a": 1}',
                                {"Content-Type": "application/json", "X-Custom": "kept"})
        assert status == 200
        seen = json.loads(body)
        assert (seen["method"], seen["path"], seen["body"]) == ("POST", "/echo?x=1", '{"a": 1}')
        assert seen["server"] == balancer["address"]
        assert seen["headers"]["x-custom"] == "kept"
        assert seen["headers"]["x-forwarded-for"] == "127.0.0.1"
        assert seen["headers"]["x-forwarded-proto"] == "http"
        assert seen["headers"]["host"] == dns
    finally:
        server.shutdown()
        server.server_close()
    dead = wait_for(lambda: (h := _health(aws, tg_arn))["State"] == "unhealthy" and h, 30, "unhealthy again")
    assert dead["Reason"] == "Target.FailedHealthChecks"
    status, _ = _request(dns)
    assert status == 503


def test_a_wrong_status_code_is_a_response_code_mismatch(
        aws: Callable[[str], Any], balancer: dict[str, Any]) -> None:
    class _NotFound(_Target):
        def do_GET(self) -> None:  # noqa: N802 - stdlib name
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer((balancer["address"], balancer["port"]), _NotFound)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        tg_arn = balancer["tg"]["TargetGroupArn"]
        aws("elbv2").register_targets(TargetGroupArn=tg_arn, Targets=[{"Id": balancer["instance_id"]}])
        health = wait_for(lambda: (h := _health(aws, tg_arn))["State"] == "unhealthy" and h, 30, "unhealthy")
        assert health["Reason"] == "Target.ResponseCodeMismatch"
        assert "[404]" in health["Description"]
    finally:
        server.shutdown()
        server.server_close()


def test_deleting_the_load_balancer_stops_its_proxy(aws: Callable[[str], Any], default_subnets: list[str]) -> None:
    lb = aws("elbv2").create_load_balancer(Name=f"t{uuid.uuid4().hex[:10]}", Subnets=default_subnets)[
        "LoadBalancers"][0]
    host, port = lb["DNSName"].split(":")
    assert port_open(host, int(port))
    aws("elbv2").delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])
    assert not port_open(host, int(port))
