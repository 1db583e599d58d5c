"""API: a REST API with IAM (SigV4) authorization on every method, proxied to the `api` function.

The function (hivemind.handlers.api, a Powertools APIGatewayRestResolver) does the routing and the
full validation with pydantic; API Gateway rejects malformed requests first (missing path id,
body that is not a JSON object with a ``repo``), so the function never sees them.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from stacks import constants as c

# (method, path) -> whether the request carries a JSON body validated by the model.
ROUTES: tuple[tuple[str, str], ...] = (
    ("POST", "/deployments"),
    ("GET", "/deployments"),
    ("GET", "/deployments/{id}"),
    ("POST", "/deployments/{id}/retry"),
    ("POST", "/deployments/{id}/rollback"),
    ("DELETE", "/deployments/{id}"),
)

# The minimum API Gateway checks before the function's pydantic model does the rest.
CREATE_DEPLOYMENT_SCHEMA = apigw.JsonSchema(
    schema=apigw.JsonSchemaVersion.DRAFT4,
    title="CreateDeployment",
    type=apigw.JsonSchemaType.OBJECT,
    required=["repo"],
    properties={
        "repo": apigw.JsonSchema(type=apigw.JsonSchemaType.STRING, min_length=1, max_length=2048),
        "ref": apigw.JsonSchema(type=apigw.JsonSchemaType.STRING, max_length=255),
        "preset": apigw.JsonSchema(type=apigw.JsonSchemaType.STRING, enum=["stage-1", "production"]),
        "what_if": apigw.JsonSchema(type=apigw.JsonSchemaType.BOOLEAN),
        "options": apigw.JsonSchema(type=apigw.JsonSchemaType.OBJECT),
    },
)


class Api(Construct):
    """``self.rest_api``; ``self.url`` is the invoke URL of the stage."""

    def __init__(self, scope: Construct, construct_id: str, *, handler: lambda_.IFunction) -> None:
        super().__init__(scope, construct_id)
        access_logs = logs.LogGroup(self, "AccessLogs", retention=logs.RetentionDays.THREE_MONTHS,
                                    removal_policy=RemovalPolicy.DESTROY)
        self.rest_api = apigw.RestApi(
            self,
            "RestApi",
            rest_api_name=c.API_NAME,
            description="HiveMind control-plane API (IAM-authorized).",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # Account-level role API Gateway needs to write execution and access logs.
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=RemovalPolicy.RETAIN,
            deploy_options=apigw.StageOptions(
                stage_name=c.API_STAGE,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=True, http_method=True, ip=True, protocol=True, request_time=True,
                    resource_path=True, response_length=True, status=True, user=True),
                logging_level=apigw.MethodLoggingLevel.INFO,
                data_trace_enabled=False,  # request/response bodies stay out of the logs
                metrics_enabled=True,
                tracing_enabled=True,
            ),
            default_method_options=apigw.MethodOptions(authorization_type=apigw.AuthorizationType.IAM),
        )
        self.url = self.rest_api.url
        validator = self.rest_api.add_request_validator(
            "Validator", request_validator_name="body-and-params",
            validate_request_body=True, validate_request_parameters=True)
        model = self.rest_api.add_model("CreateDeployment", content_type="application/json",
                                        model_name="CreateDeployment", schema=CREATE_DEPLOYMENT_SCHEMA)
        integration = apigw.LambdaIntegration(handler, allow_test_invoke=False)
        for method, path in ROUTES:
            resource = self.rest_api.root.resource_for_path(path)
            resource.add_method(
                method,
                integration,
                authorization_type=apigw.AuthorizationType.IAM,
                request_validator=validator,
                request_parameters={"method.request.path.id": True} if "{id}" in path else None,
                request_models={"application/json": model} if (method, path) == ROUTES[0] else None,
            )
        NagSuppressions.add_resource_suppressions(self.rest_api, [
            NagPackSuppression(
                id="AwsSolutions-APIG3",
                reason="Every method requires IAM (SigV4) authorization, so only principals of this "
                       "account reach the API; a WAF web ACL would add cost without blocking anything "
                       "IAM does not already reject."),
            NagPackSuppression(
                id="AwsSolutions-COG4",
                reason="The API uses IAM authorization, not Cognito: its callers are the HiveMind CLI "
                       "and operators signing with their AWS credentials."),
            NagPackSuppression(
                id="AwsSolutions-IAM4",
                reason="API Gateway's account-level logging role uses the AWS-managed "
                       "AmazonAPIGatewayPushToCloudWatchLogs policy, the documented way to let API "
                       "Gateway write execution and access logs.",
                applies_to=["Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                            "AmazonAPIGatewayPushToCloudWatchLogs"]),
        ], apply_to_children=True)
