"""REST API (API Gateway, IAM auth): start and inspect deployments. Validation and OpenAPI by Powertools.

No `from __future__ import annotations` here: Powertools reads the route signatures at runtime.
"""


from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Path
from pydantic import BaseModel, Field

from hivemind.errors import DeploymentNotFound, HiveMindError, InvalidInput
from hivemind.handlers.common import logger, metrics, tracer
from hivemind.logic import launch
from hivemind.logic.ports import default_ports
from hivemind.models import DeploymentStatus
from hivemind.models.plan import Preset
from hivemind.models.tasks import DeployOptions, DeployRequest

app = APIGatewayRestResolver(enable_validation=True)
DeploymentId = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{2,39}$")]
# A Response without a JSON content type keeps its body unserialized: API Gateway answers 502.
JSON = content_types.APPLICATION_JSON


class CreateDeployment(BaseModel):
    repo: str = Field(min_length=1, max_length=2048, description="git URL (https, ssh, git://)")
    ref: str | None = Field(default=None, max_length=200)
    preset: Preset = "stage-1"
    region: str = "us-east-1"
    what_if: bool = False
    options: DeployOptions = Field(default_factory=DeployOptions)


class Started(BaseModel):
    id: str
    execution_arn: str


def _workflows() -> Any:
    return default_ports().extra["workflows"]


@app.post("/deployments", status_code=202)
@tracer.capture_method
def create_deployment(body: CreateDeployment) -> Response[Started]:
    ports = default_ports()
    existing = None if body.what_if else launch.find_for_repo(ports.store, body.repo)
    dep_id = existing.id if existing else launch.new_deployment_id(body.repo)
    request = DeployRequest(deployment_id=dep_id, **body.model_dump())
    arn = launch.start_deploy(_workflows(), ports.settings.deploy_state_machine_arn, request)
    return Response(status_code=202, content_type=JSON, body=Started(id=dep_id, execution_arn=arn))


@app.get("/deployments")
@tracer.capture_method
def list_deployments(status: str | None = None) -> list[dict]:
    return [s.model_dump(mode="json", exclude={"stack", "plan"}) for s in default_ports().store.list(status=status)]


@app.get("/deployments/<deployment_id>")
@tracer.capture_method
def get_deployment(deployment_id: DeploymentId) -> dict:
    return default_ports().store.get(deployment_id).model_dump(mode="json")


@app.post("/deployments/<deployment_id>/retry", status_code=202)
@tracer.capture_method
def retry_deployment(deployment_id: DeploymentId, fix: bool = False) -> Response[Started]:
    ports = default_ports()
    state = ports.store.get(deployment_id)
    if state.status is not DeploymentStatus.FAILED:
        # The resumed execution's Validate would refuse it anyway; answer now instead of 202.
        raise InvalidInput(
            f"deployment {deployment_id} is {state.status.value}; only a failed deployment can be retried",
            remediation="Deploy again to update it, or `hivemind status <id>` to see why it is not failed.",
        )
    arn = launch.start_retry(_workflows(), ports.settings.retry_state_machine_arn, deployment_id, fix=fix)
    return Response(status_code=202, content_type=JSON, body=Started(id=deployment_id, execution_arn=arn))


@app.post("/deployments/<deployment_id>/rollback", status_code=202)
@tracer.capture_method
def rollback_deployment(deployment_id: DeploymentId) -> Response[Started]:
    ports = default_ports()
    state = ports.store.get(deployment_id)
    if state.rollback_target() is None:
        return Response(status_code=409, content_type=JSON,
                        body={"message": f"{deployment_id} has no earlier successful release to roll back to"})
    request = DeployRequest(deployment_id=deployment_id, region=state.region, preset=state.preset, rollback=True)
    arn = launch.start_deploy(_workflows(), ports.settings.deploy_state_machine_arn, request)
    return Response(status_code=202, content_type=JSON, body=Started(id=deployment_id, execution_arn=arn))


@app.delete("/deployments/<deployment_id>", status_code=202)
@tracer.capture_method
def destroy_deployment(deployment_id: DeploymentId, skip_snapshot: bool = False) -> Response[Started]:
    ports = default_ports()
    ports.store.get(deployment_id)
    arn = launch.start_destroy(_workflows(), ports.settings.destroy_state_machine_arn, deployment_id,
                               skip_snapshot=skip_snapshot)
    return Response(status_code=202, content_type=JSON, body=Started(id=deployment_id, execution_arn=arn))


@app.exception_handler(DeploymentNotFound)
def not_found(exc: DeploymentNotFound) -> Response[dict]:
    return Response(status_code=404, content_type=JSON,
                    body={"message": exc.message, "remediation": exc.remediation})


@app.exception_handler(HiveMindError)
def bad_request(exc: HiveMindError) -> Response[dict]:
    return Response(status_code=400, content_type=JSON,
                    body={"type": exc.type, "message": exc.message, "remediation": exc.remediation})


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: Any) -> dict:
    return app.resolve(event, context)
