"""What moto's CloudFormation lacks or does differently, adapted so the REAL template runs locally.

The application template (``hivemind.planning.template.build_template``) is never bent for the
emulator; every gap is closed here. Gaps found with that template on moto 5.2.5:

Resource types moto has no CloudFormation model for (it silently skips them):
- ``AWS::SecretsManager::Secret`` (incl. ``GenerateSecretString``)   -> ``SecretModel``
- ``AWS::SecretsManager::SecretTargetAttachment`` (host/port/engine/dbname into the secret)
                                                                     -> ``SecretTargetAttachmentModel``
- ``AWS::CloudWatch::Alarm``                                         -> ``AlarmModel``

Behaviours adapted:
- dynamic references ``{{resolve:ssm:...}}``, ``{{resolve:ssm-secure:...}}`` and
  ``{{resolve:secretsmanager:...}}`` are left as literal text by moto: ``clean_json`` now
  resolves them (so the DB's master password equals the secret's password).
- ``AWS::SSM::Parameter`` ``Tags`` is a map in CloudFormation; moto wants a list (TypeError).
- ``AWS::SSM::Parameter::Value<...>`` template parameters naming an AWS public parameter
  (``/aws/service/ami-amazon-linux-latest/...``) that moto does not have: registered with an AMI
  moto knows.
- ``AWS::ElasticLoadBalancingV2::LoadBalancer`` / ``TargetGroup``: moto drops ``Tags`` (and the
  target group's attributes); ``LoadBalancerFullName``, ``TargetGroupFullName`` etc. raise.
- ``AWS::RDS::DBInstance``: ``VPCSecurityGroups`` ignored, ``Port`` defaults to 3306 and stays a
  string; ``DeletionPolicy: Snapshot`` ignored on stack delete (AWS takes a final snapshot: so
  does this layer, ``<stack>-<logical id>-final``, tagged like the DB).
- Route tables, routes, subnet associations, gateway attachments, internet gateways, NAT
  gateways, Elastic IPs, listeners, target groups and launch templates have no working delete in
  moto: the stack "deleted" them
  and left them behind, so the VPC delete then failed with DependencyViolation (the failure seen
  with an ALB + ASG in a VPC). ``DELETERS`` deletes them; the stack deletes newest-first.
- Route tables, internet gateways (and other EC2 resources) lose their template ``Tags`` in moto:
  ``ensure_tags`` applies them, so a leak is visible to the tagging API.
- A resource that fails to create makes moto's CreateStack/ExecuteChangeSet call itself fail
  and leaves the stack "CREATE_IN_PROGRESS" forever. Here, as on AWS, the call succeeds, the
  resource gets a CREATE_FAILED event with the reason, the created resources are rolled back and
  the stack ends ROLLBACK_COMPLETE (DisableRollback is not honoured locally).
  A failing delete ends DELETE_FAILED with the reason instead of an API error.
- An update of a type whose moto model cannot update (target group, load balancer, DB instance,
  VPC, subnet, ...) made moto DROP the resource from the stack (it was then never deleted): here
  it is kept and, for the types in ``UPDATERS``, its new settings are applied in place (a target group's new Port, a replacement on AWS,
  moves its targets to that port).
- Every resource created gets per-resource stack events (CREATE_IN_PROGRESS/COMPLETE, DELETE_*),
  which moto does not record, so DescribeStackEvents reads as on AWS.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import threading
from typing import Any

from moto.core.common_models import CloudFormationModel

log = logging.getLogger("hivemind.local.cfn")

DYNAMIC_REFERENCE = re.compile(r"\{\{resolve:(ssm|ssm-secure|secretsmanager):([^{}]+)\}\}")


def _tags_list(tags: Any) -> list[dict[str, str]]:
    """CloudFormation tags as a Key/Value list (accepts the map form SSM uses)."""
    if not tags:
        return []
    if isinstance(tags, dict):
        return [{"Key": str(k), "Value": str(v)} for k, v in tags.items()]
    return [{"Key": str(t["Key"]), "Value": str(t["Value"])} for t in tags]


def _stack_error(message: str) -> Exception:
    from moto.cloudformation.exceptions import ValidationError

    return ValidationError(message=message)


# --- dynamic references ------------------------------------------------------------------------
def _secret_id_and_rest(text: str) -> tuple[str, list[str]]:
    """``secret-id:SecretString:key:stage:version``; a secret id may be an ARN (with colons)."""
    parts = text.split(":")
    if text.startswith("arn:"):
        return ":".join(parts[:7]), parts[7:]
    return parts[0], parts[1:]


def resolve_reference(service: str, reference: str, account_id: str, region: str) -> str:
    if service in ("ssm", "ssm-secure"):
        from moto.ssm.models import ssm_backends

        name, _, version = reference.partition(":")
        backend = ssm_backends[account_id][region]
        parameter = backend.get_parameter(f"{name}:{version}" if version else name)
        if parameter is None:
            raise _stack_error(f"dynamic reference {{{{resolve:{service}:{reference}}}}}: parameter {name} not found")
        return str(parameter.value)
    from moto.secretsmanager.models import secretsmanager_backends

    secret_id, rest = _secret_id_and_rest(reference)
    field = rest[0] if rest else "SecretString"
    json_key = rest[1] if len(rest) > 1 else ""
    stage = rest[2] if len(rest) > 2 and rest[2] else None
    version = rest[3] if len(rest) > 3 and rest[3] else None
    if field != "SecretString":
        raise _stack_error(f"dynamic reference to secret {secret_id}: only SecretString can be resolved")
    backend = secretsmanager_backends[account_id][region]
    try:
        value = backend.get_secret_value(secret_id, version, stage or ("AWSCURRENT" if not version else None))
    except Exception as exc:  # noqa: BLE001 - moto raises several types; all mean "not resolvable"
        raise _stack_error(f"dynamic reference to secret {secret_id} failed: {exc}") from None
    secret = value.get("SecretString") or ""
    if not json_key:
        return str(secret)
    try:
        return str(json.loads(secret)[json_key])
    except (ValueError, KeyError, TypeError):
        raise _stack_error(f"dynamic reference: secret {secret_id} has no JSON key {json_key!r}") from None


def resolve_dynamic_references(text: str, account_id: str, region: str) -> str:
    return DYNAMIC_REFERENCE.sub(lambda m: resolve_reference(m.group(1), m.group(2), account_id, region), text)


# --- resource models moto lacks -----------------------------------------------------------------
class SecretModel(CloudFormationModel):
    """AWS::SecretsManager::Secret (Ref -> ARN; GenerateSecretString like Secrets Manager)."""

    def __init__(self, arn: str, name: str, account_id: str, region: str) -> None:
        self.arn = arn
        self.name = name
        self.account_id = account_id
        self.region = region

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SecretsManager::Secret"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("Id",)

    @property
    def physical_resource_id(self) -> str:
        return self.arn

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name == "Id":
            return self.arn
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        raise UnformattedGetAttTemplateException()

    @staticmethod
    def _value(properties: dict[str, Any], backend: Any) -> str:
        if "SecretString" in properties:
            return str(properties["SecretString"])
        spec = properties.get("GenerateSecretString") or {}
        password = json.loads(backend.get_random_password(
            password_length=int(spec.get("PasswordLength", 32)),
            exclude_characters=spec.get("ExcludeCharacters", ""),
            exclude_numbers=bool(spec.get("ExcludeNumbers", False)),
            exclude_punctuation=bool(spec.get("ExcludePunctuation", False)),
            exclude_uppercase=bool(spec.get("ExcludeUppercase", False)),
            exclude_lowercase=bool(spec.get("ExcludeLowercase", False)),
            include_space=bool(spec.get("IncludeSpace", False)),
            require_each_included_type=bool(spec.get("RequireEachIncludedType", True)),
        ))["RandomPassword"]
        template = spec.get("SecretStringTemplate")
        key = spec.get("GenerateStringKey")
        if template and key:
            data = json.loads(template)
            data[key] = password
            return json.dumps(data)
        if template or key:
            raise _stack_error("GenerateSecretString needs both SecretStringTemplate and GenerateStringKey, or neither")
        return password

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any, account_id: str,  # type: ignore[override]
                                        region_name: str, **kwargs: Any) -> SecretModel:
        from moto.secretsmanager.models import secretsmanager_backends

        properties = cloudformation_json.get("Properties") or {}
        backend = secretsmanager_backends[account_id][region_name]
        name = properties.get("Name") or resource_name
        backend.create_secret(
            name=name, secret_string=cls._value(properties, backend), secret_binary=None,
            description=properties.get("Description"), tags=_tags_list(properties.get("Tags")),
            kms_key_id=properties.get("KmsKeyId"), client_request_token=None, replica_regions=[],
            force_overwrite=False,
        )
        return cls(backend.secrets[name].arn, name, account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(cls, original_resource: Any, new_resource_name: str,  # type: ignore[override]
                                        cloudformation_json: Any, account_id: str, region_name: str) -> SecretModel:
        from moto.secretsmanager.models import secretsmanager_backends

        properties = cloudformation_json.get("Properties") or {}
        backend = secretsmanager_backends[account_id][region_name]
        if "Description" in properties:
            backend.update_secret(original_resource.arn, description=properties["Description"])
        if "SecretString" in properties:
            backend.put_secret_value(original_resource.arn, properties["SecretString"], None, None, ["AWSCURRENT"])
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any, account_id: str,  # type: ignore[override]
                                        region_name: str) -> None:
        from moto.secretsmanager.models import secretsmanager_backends

        with contextlib.suppress(Exception):
            secretsmanager_backends[account_id][region_name].delete_secret(resource_name, None, True)

    def delete(self, account_id: str, region_name: str) -> None:
        self.delete_from_cloudformation_json(self.arn, {}, account_id, region_name)

    def is_created(self) -> bool:
        return True


class SecretTargetAttachmentModel(CloudFormationModel):
    """AWS::SecretsManager::SecretTargetAttachment: adds the DB's connection fields to the secret."""

    def __init__(self, secret_arn: str) -> None:
        self.secret_arn = secret_arn

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SecretsManager::SecretTargetAttachment"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Id"

    @property
    def physical_resource_id(self) -> str:
        return self.secret_arn

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        return self.secret_arn

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any, account_id: str,  # type: ignore[override]
                                        region_name: str, **kwargs: Any) -> SecretTargetAttachmentModel:
        from moto.rds.models import rds_backends
        from moto.secretsmanager.models import secretsmanager_backends

        properties = cloudformation_json.get("Properties") or {}
        secret_id = str(properties.get("SecretId"))
        target_id = str(properties.get("TargetId"))
        target_type = properties.get("TargetType")
        if target_type != "AWS::RDS::DBInstance":
            raise _stack_error(f"SecretTargetAttachment TargetType {target_type!r} is not supported locally "
                               f"(AWS::RDS::DBInstance is)")
        db = rds_backends[account_id][region_name].databases.get(target_id)
        if db is None:
            raise _stack_error(f"SecretTargetAttachment: DB instance {target_id} not found")
        backend = secretsmanager_backends[account_id][region_name]
        current = backend.get_secret_value(secret_id, None, "AWSCURRENT").get("SecretString") or "{}"
        data = json.loads(current)
        data.update({"engine": db.engine, "host": db.address, "port": int(db.port),
                     "dbInstanceIdentifier": db.db_instance_identifier})
        if db.db_name:
            data.setdefault("dbname", db.db_name)
        backend.put_secret_value(secret_id, json.dumps(data), None, None, ["AWSCURRENT"])
        return cls(backend.describe_secret(secret_id).arn)

    @classmethod
    def update_from_cloudformation_json(cls, original_resource: Any, new_resource_name: str,  # type: ignore[override]
                                        cloudformation_json: Any, account_id: str, region_name: str) -> Any:
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(cls, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """Detaching leaves the secret's value as it is (as on AWS)."""

    def delete(self, account_id: str, region_name: str) -> None:
        """See delete_from_cloudformation_json."""

    def is_created(self) -> bool:
        return True


class AlarmModel(CloudFormationModel):
    """AWS::CloudWatch::Alarm (Ref -> alarm name, GetAtt Arn)."""

    def __init__(self, name: str, arn: str) -> None:
        self.name = name
        self.arn = arn

    @staticmethod
    def cloudformation_name_type() -> str:
        return "AlarmName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CloudWatch::Alarm"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Arn"

    @property
    def physical_resource_id(self) -> str:
        return self.name

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name == "Arn":
            return self.arn
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        raise UnformattedGetAttTemplateException()

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any, account_id: str,  # type: ignore[override]
                                        region_name: str, **kwargs: Any) -> AlarmModel:
        from moto.cloudwatch.models import cloudwatch_backends

        p = cloudformation_json.get("Properties") or {}
        backend = cloudwatch_backends[account_id][region_name]
        alarm = backend.put_metric_alarm(
            name=p.get("AlarmName") or resource_name, namespace=p.get("Namespace"), metric_name=p.get("MetricName"),
            comparison_operator=p.get("ComparisonOperator"), evaluation_periods=int(p.get("EvaluationPeriods", 1)),
            period=int(p["Period"]) if p.get("Period") else 60, threshold=float(p.get("Threshold", 0)),
            statistic=p.get("Statistic"), description=p.get("AlarmDescription"),
            dimensions=[{"Name": d["Name"], "Value": d["Value"]} for d in p.get("Dimensions") or []],
            alarm_actions=p.get("AlarmActions") or [], ok_actions=p.get("OKActions") or [],
            insufficient_data_actions=p.get("InsufficientDataActions") or [],
            datapoints_to_alarm=int(p["DatapointsToAlarm"]) if p.get("DatapointsToAlarm") else None,
            extended_statistic=p.get("ExtendedStatistic"), unit=p.get("Unit"),
            actions_enabled=str(p.get("ActionsEnabled", True)).lower() != "false",
            treat_missing_data=p.get("TreatMissingData"), tags=_tags_list(p.get("Tags")),
        )
        return cls(alarm.name, alarm.alarm_arn)

    @classmethod
    def update_from_cloudformation_json(cls, original_resource: Any, new_resource_name: str,  # type: ignore[override]
                                        cloudformation_json: Any, account_id: str, region_name: str) -> AlarmModel:
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any, account_id: str,  # type: ignore[override]
                                        region_name: str) -> None:
        from moto.cloudwatch.models import cloudwatch_backends

        backend = cloudwatch_backends[account_id][region_name]
        alarm = backend.alarms.get(resource_name)
        backend.delete_alarms([resource_name])
        if alarm is not None:
            with contextlib.suppress(Exception):
                backend.tagger.delete_all_tags_for_resource(alarm.alarm_arn)

    def delete(self, account_id: str, region_name: str) -> None:
        self.delete_from_cloudformation_json(self.name, {}, account_id, region_name)

    def is_created(self) -> bool:
        return True


# --- patches of existing models ----------------------------------------------------------------
def _patch_ssm_parameter() -> None:
    from moto.ssm.models import Parameter

    original = Parameter.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    @classmethod  # type: ignore[misc]
    def create(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str,
               **kwargs: Any) -> Any:
        properties = cloudformation_json.setdefault("Properties", {})
        if isinstance(properties.get("Tags"), dict):
            properties["Tags"] = _tags_list(properties["Tags"])
        if not properties.get("Name"):
            properties["Name"] = resource_name  # AWS generates a name when none is given
        return original(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)

    Parameter.create_from_cloudformation_json = create  # type: ignore[method-assign]


def _full_name(arn: str, marker: str) -> str:
    """``arn:...:loadbalancer/app/name/id`` -> ``app/name/id`` (what CloudWatch dimensions use)."""
    return arn.split(marker, 1)[1] if marker in arn else arn


def _patch_elbv2() -> None:
    from moto.elbv2.models import FakeLoadBalancer, FakeTargetGroup, elbv2_backends

    lb_create = FakeLoadBalancer.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]
    tg_create = FakeTargetGroup.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]
    lb_attr = FakeLoadBalancer.get_cfn_attribute

    @classmethod  # type: ignore[misc]
    def create_lb(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str,
                  **kwargs: Any) -> Any:
        lb = lb_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        properties = cloudformation_json.get("Properties") or {}
        backend = elbv2_backends[account_id][region_name]
        if properties.get("Tags"):
            backend.add_tags([lb.arn], _tags_list(properties["Tags"]))
        for attribute in properties.get("LoadBalancerAttributes") or []:
            if attribute.get("Key") in lb.VALID_ATTRS:
                lb.attrs[attribute["Key"]] = str(attribute.get("Value"))
        return lb

    @classmethod  # type: ignore[misc]
    def create_tg(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str,
                  **kwargs: Any) -> Any:
        tg = tg_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        properties = cloudformation_json.get("Properties") or {}
        backend = elbv2_backends[account_id][region_name]
        if properties.get("Tags"):
            backend.add_tags([tg.arn], _tags_list(properties["Tags"]))
        for attribute in properties.get("TargetGroupAttributes") or []:
            tg.attributes[attribute["Key"]] = str(attribute.get("Value"))
        if "HealthCheckEnabled" in properties:
            tg.health_check_enabled = str(properties["HealthCheckEnabled"]).lower() == "true"
        return tg

    def lb_get_cfn_attribute(self: Any, attribute_name: str) -> Any:
        if attribute_name == "LoadBalancerFullName":
            return _full_name(self.arn, ":loadbalancer/")
        if attribute_name == "CanonicalHostedZoneID":
            return self.canonical_hosted_zone_id
        if attribute_name == "SecurityGroups":
            return list(self.security_groups or [])
        if attribute_name == "LoadBalancerArn":
            return self.arn
        return lb_attr(self, attribute_name)

    def tg_get_cfn_attribute(self: Any, attribute_name: str) -> Any:
        values = {
            "TargetGroupFullName": "targetgroup/" + _full_name(self.arn, ":targetgroup/"),
            "TargetGroupName": self.name,
            "TargetGroupArn": self.arn,
            "LoadBalancerArns": list(self.load_balancer_arns),
        }
        if attribute_name in values:
            return values[attribute_name]
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        raise UnformattedGetAttTemplateException()

    FakeLoadBalancer.create_from_cloudformation_json = create_lb  # type: ignore[method-assign]
    FakeTargetGroup.create_from_cloudformation_json = create_tg  # type: ignore[method-assign]
    FakeLoadBalancer.get_cfn_attribute = lb_get_cfn_attribute  # type: ignore[method-assign]
    FakeTargetGroup.get_cfn_attribute = tg_get_cfn_attribute  # type: ignore[method-assign]
    FakeLoadBalancer.has_cfn_attr = classmethod(  # type: ignore[method-assign]
        lambda cls, attr: attr in ("DNSName", "LoadBalancerName", "CanonicalHostedZoneID", "LoadBalancerFullName",
                                   "SecurityGroups", "LoadBalancerArn"))
    FakeTargetGroup.has_cfn_attr = classmethod(  # type: ignore[method-assign]
        lambda cls, attr: attr in ("TargetGroupFullName", "TargetGroupName", "TargetGroupArn", "LoadBalancerArns"))


def _patch_rds() -> None:
    from moto.rds.models import DBInstance

    original = DBInstance.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    @classmethod  # type: ignore[misc]
    def create(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str,
               **kwargs: Any) -> Any:
        properties = cloudformation_json.setdefault("Properties", {})
        if properties.get("VPCSecurityGroups") and not properties.get("VpcSecurityGroupIds"):
            properties["VpcSecurityGroupIds"] = list(properties["VPCSecurityGroups"])
        engine = str(properties.get("Engine") or "").lower()
        if "Port" in properties:
            properties["Port"] = int(properties["Port"])
        elif engine.startswith("postgres"):
            properties["Port"] = 5432
        for key in ("AllocatedStorage", "BackupRetentionPeriod"):
            if key in properties:
                properties[key] = int(properties[key])
        identifier = properties.get("DBInstanceIdentifier") or resource_name
        return original(cls, str(identifier).lower(), cloudformation_json, account_id, region_name, **kwargs)

    DBInstance.create_from_cloudformation_json = create  # type: ignore[method-assign]


# --- deletes moto lacks, and tags it drops --------------------------------------------------------
def _ec2(account_id: str, region: str) -> Any:
    from moto.ec2.models import ec2_backends

    return ec2_backends[account_id][region]


def _elbv2(account_id: str, region: str) -> Any:
    from moto.elbv2.models import elbv2_backends

    return elbv2_backends[account_id][region]


def _delete_association(resource: Any, account_id: str, region: str) -> None:
    table = _ec2(account_id, region).get_route_table(resource.route_table_id)
    for association_id, subnet_id in list(table._associations.items()):
        if subnet_id == resource.subnet_id:
            table._associations.pop(association_id, None)


def _delete_gateway_attachment(resource: Any, account_id: str, region: str) -> None:
    ec2 = _ec2(account_id, region)
    if str(resource.gateway_id).startswith("igw-"):
        ec2.detach_internet_gateway(internet_gateway_id=resource.gateway_id, vpc_id=resource.vpc_id)
    else:
        ec2.detach_vpn_gateway(resource.gateway_id, resource.vpc_id)


def _delete_nat_gateway(resource: Any, account_id: str, region: str) -> None:
    """As on AWS: the gateway goes to state "deleted", its interface is deleted, its EIP freed."""
    ec2 = _ec2(account_id, region)
    ec2.delete_nat_gateway(resource.id)
    eni = getattr(resource, "_eni", None)
    if eni is None:
        return
    for address in list(ec2.addresses):
        if address.eni is eni:
            ec2.disassociate_address(address=address.public_ip)
    with contextlib.suppress(Exception):
        ec2.delete_network_interface(eni.id)


# moto models without a working delete: CloudFormation "deleted" them without removing anything,
# so a VPC delete then failed with DependencyViolation (the route tables were still there).
DELETERS: dict[str, Any] = {
    "AWS::EC2::RouteTable": lambda r, a, g: _ec2(a, g).delete_route_table(r.id),
    "AWS::EC2::Route": lambda r, a, g: _ec2(a, g).delete_route(
        r.route_table.id, r.destination_cidr_block, r.destination_ipv6_cidr_block),
    "AWS::EC2::SubnetRouteTableAssociation": _delete_association,
    "AWS::EC2::VPCGatewayAttachment": _delete_gateway_attachment,
    "AWS::EC2::InternetGateway": lambda r, a, g: _ec2(a, g).delete_internet_gateway(r.id),
    "AWS::ElasticLoadBalancingV2::Listener": lambda r, a, g: _elbv2(a, g).delete_listener(r.arn),
    "AWS::ElasticLoadBalancingV2::TargetGroup": lambda r, a, g: _elbv2(a, g).delete_target_group(r.arn),
    "AWS::EC2::LaunchTemplate": lambda r, a, g: _ec2(a, g).delete_launch_template(r.name, None),
    "AWS::EC2::NatGateway": _delete_nat_gateway,
    "AWS::EC2::EIP": lambda r, a, g: _ec2(a, g).release_address(address=r.public_ip),
}


def _gone(exc: BaseException) -> bool:
    """A delete that found nothing to delete succeeded (CloudFormation treats it so)."""
    code = str(getattr(exc, "error_type", "") or getattr(exc, "code", "") or type(exc).__name__)
    return "NotFound" in code or "NoSuch" in code or isinstance(exc, KeyError)


def _template_tags(resource_type: str, properties: dict[str, Any]) -> list[dict[str, str]]:
    if resource_type == "AWS::EC2::LaunchTemplate":
        for spec in properties.get("TagSpecifications") or []:
            if spec.get("ResourceType") == "launch-template":
                return _tags_list(spec.get("Tags"))
        return []
    if resource_type == "AWS::AutoScaling::AutoScalingGroup":
        return []  # moto keeps ASG tags (with PropagateAtLaunch)
    return _tags_list(properties.get("Tags"))


def ensure_tags(resource: Any, resource_type: str, properties: dict[str, Any], account_id: str, region: str) -> None:
    """Give an EC2 resource the Tags its template declares (moto drops them for several types)."""
    from moto.ec2.models.core import TaggedEC2Resource

    tags = _template_tags(resource_type, properties)
    if not tags or not isinstance(resource, TaggedEC2Resource):
        return
    resource_id = getattr(resource, "id", None) or resource.physical_resource_id
    _ec2(account_id, region).create_tags([resource_id], {t["Key"]: t["Value"] for t in tags})


class InjectedResourceFault(Exception):
    """A resource create or delete made to fail by the test harness (``faults.json``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def _injected_fault(resource_type: str, operation: str) -> None:
    """Tests only: ``{"resource_type": "AWS::EC2::SecurityGroup", "operation": "delete", "error": ...}``
    in the fault file makes CloudFormation's create or delete of that type fail (the stack then ends
    ROLLBACK_COMPLETE or DELETE_FAILED, as on AWS)."""
    from hivemind.local import faults

    fault = faults.take(faults.faults_path(), lambda e: e.get("resource_type") == resource_type
                        and e.get("operation", "delete") == operation)
    if fault is not None:
        raise InjectedResourceFault(str(fault.get("error") or "DependencyViolation"),
                                  str(fault.get("message") or f"{resource_type} has a dependent object"))


def _patch_resource_map() -> None:
    from moto.cloudformation.parsing import ResourceMap

    original_delete_resource = ResourceMap._delete_resource

    def _delete_resource(self: Any, parsed_resource: Any, resource_json: dict[str, Any]) -> None:
        _injected_fault(resource_json.get("Type", ""), "delete")
        deleter = DELETERS.get(resource_json.get("Type", ""))
        if deleter is None:
            original_delete_resource(self, parsed_resource, resource_json)
            return
        try:
            deleter(parsed_resource, self._account_id, self._region_name)
        except Exception as exc:
            if not _gone(exc):
                raise

    ResourceMap._delete_resource = _delete_resource  # type: ignore[method-assign]


# --- updates moto lacks ---------------------------------------------------------------------------
def _update_target_group(tg: Any, p: dict[str, Any], account_id: str, region: str) -> None:
    fields = {"HealthCheckPath": "health_check_path", "HealthCheckIntervalSeconds": "health_check_interval_seconds",
              "HealthCheckTimeoutSeconds": "health_check_timeout_seconds",
              "HealthyThresholdCount": "healthy_threshold_count",
              "UnhealthyThresholdCount": "unhealthy_threshold_count", "HealthCheckPort": "health_check_port",
              "HealthCheckProtocol": "health_check_protocol", "Matcher": "matcher"}
    for prop, attr in fields.items():
        if prop in p:
            setattr(tg, attr, p[prop])
    if "HealthCheckEnabled" in p:
        tg.health_check_enabled = str(p["HealthCheckEnabled"]).lower() == "true"
    if "Port" in p and int(p["Port"]) != int(tg.port):
        # On AWS a new Port replaces the target group and the Auto Scaling group registers its
        # instances with the new one; here the group is kept and its targets move to the new port.
        old_port, tg.port = int(tg.port), int(p["Port"])
        for target in tg.targets.values():
            if int(target.get("Port") or old_port) == old_port:
                target["Port"] = tg.port
    for attribute in p.get("TargetGroupAttributes") or []:
        tg.attributes[attribute["Key"]] = str(attribute.get("Value"))
    if p.get("Tags"):
        _elbv2(account_id, region).add_tags([tg.arn], _tags_list(p["Tags"]))


def _update_load_balancer(lb: Any, p: dict[str, Any], account_id: str, region: str) -> None:
    for attribute in p.get("LoadBalancerAttributes") or []:
        if attribute.get("Key") in lb.VALID_ATTRS:
            lb.attrs[attribute["Key"]] = str(attribute.get("Value"))
    if p.get("Tags"):
        _elbv2(account_id, region).add_tags([lb.arn], _tags_list(p["Tags"]))


def _update_db_instance(db: Any, p: dict[str, Any], account_id: str, region: str) -> None:
    fields = {"DBInstanceClass": "db_instance_class", "MultiAZ": "multi_az", "StorageType": "storage_type",
              "AllocatedStorage": "allocated_storage", "BackupRetentionPeriod": "backup_retention_period",
              "EngineVersion": "engine_version", "DeletionProtection": "deletion_protection"}
    for prop, attr in fields.items():
        if prop in p:
            value = p[prop]
            if prop in ("AllocatedStorage", "BackupRetentionPeriod"):
                value = int(value)
            elif prop in ("MultiAZ", "DeletionProtection"):
                value = str(value).lower() == "true"
            setattr(db, attr, value)


# In-place updates of types whose moto model cannot update: the resource keeps its identity and
# takes the new settings the local cloud uses. (moto would drop such a resource from the stack,
# so it was never deleted.) A change AWS performs by replacement is applied in place here.
UPDATERS: dict[str, Any] = {
    "AWS::ElasticLoadBalancingV2::TargetGroup": _update_target_group,
    "AWS::ElasticLoadBalancingV2::LoadBalancer": _update_load_balancer,
    "AWS::RDS::DBInstance": _update_db_instance,
}


# --- stack lifecycle: failures, events, delete order, deletion policies -------------------------
_local = threading.local()


def _add_resource_event(stack: Any, logical_id: str, resource: Any, resource_type: str, status: str,
                        reason: str | None = None) -> None:
    from moto.cloudformation.models import Event

    physical = getattr(resource, "physical_resource_id", None) if resource is not None else None
    stack.events.append(Event(
        stack_id=stack.stack_id, stack_name=stack.name, logical_resource_id=logical_id,
        physical_resource_id=str(physical or ""), resource_type=resource_type, resource_status=status,
        resource_status_reason=reason, resource_properties=None,
    ))


def _patch_parsing() -> None:
    from moto.cloudformation import parsing

    original_clean = parsing.clean_json
    original_create = parsing.parse_and_create_resource

    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        result = original_clean(resource_json, resources_map)
        if isinstance(result, str) and "{{resolve:" in result:
            result = resolve_dynamic_references(result, resources_map._account_id, resources_map._region_name)
        return result

    def parse_and_create_resource(logical_id: str, resource_json: dict[str, Any], resources_map: Any,
                                  account_id: str, region_name: str) -> Any:
        stack = getattr(_local, "stack", None)
        resource_type = resource_json.get("Type", "")
        if stack is not None:
            _add_resource_event(stack, logical_id, None, resource_type, "CREATE_IN_PROGRESS")
        try:
            _injected_fault(resource_type, "create")
            resource = original_create(logical_id, resource_json, resources_map, account_id, region_name)
        except Exception as exc:
            if stack is not None and not getattr(_local, "failed", None):
                _local.failed = (logical_id, resource_type, _reason(exc))
            raise
        if resource is not None:
            ensure_tags(resource, resource_type, resource_json.get("Properties") or {}, account_id, region_name)
            if stack is not None:
                _add_resource_event(stack, logical_id, resource, resource_type, "CREATE_COMPLETE")
        return resource

    original_update = parsing.parse_and_update_resource

    def parse_and_update_resource(logical_id: str, resource_json: dict[str, Any], resources_map: Any,
                                  account_id: str, region_name: str) -> Any:
        resource_type = resource_json.get("Type", "")
        stack = getattr(_local, "stack", None)
        model = parsing.resource_class_from_type(resource_type)
        try:
            if model is not None and hasattr(model.update_from_cloudformation_json, "__isabstractmethod__"):
                resource = resources_map[logical_id]
                properties = (clean_json(resource_json, resources_map) or {}).get("Properties") or {}
                updater = UPDATERS.get(resource_type)
                if updater is not None:
                    updater(resource, properties, account_id, region_name)
            else:
                resource = original_update(logical_id, resource_json, resources_map, account_id, region_name)
                properties = resource_json.get("Properties") or {}
        except Exception as exc:
            if stack is not None and not getattr(_local, "failed", None):
                _local.failed = (logical_id, resource_type, _reason(exc))
            raise
        if resource is not None:
            ensure_tags(resource, resource_type, properties, account_id, region_name)
            if stack is not None:
                _add_resource_event(stack, logical_id, resource, resource_type, "UPDATE_COMPLETE")
        return resource

    parsing.clean_json = clean_json
    parsing.parse_and_create_resource = parse_and_create_resource
    parsing.parse_and_update_resource = parse_and_update_resource


def _reason(exc: BaseException) -> str:
    message = getattr(exc, "message", None) or getattr(exc, "description", None) or str(exc)
    code = getattr(exc, "error_type", None) or getattr(exc, "code", None)
    text = re.sub(r"<[^>]+>", " ", str(message)).strip()
    text = re.sub(r"\s+", " ", text)
    return f"{text} (Service: {code})" if isinstance(code, str) and code not in text else text


def _delete_order(resource_map: Any) -> list[str]:
    """Logical ids in reverse creation order (dependents before what they depend on)."""
    order = [key for key in resource_map._parsed_resources if key in resource_map._resource_json_map]
    return list(reversed(order))


def _rollback(stack: Any) -> None:
    """Delete what a failed create made, newest first (moto's delete retries for leftovers)."""
    resource_map = stack.resource_map
    for logical_id in _delete_order(resource_map):
        resource = resource_map._parsed_resources.get(logical_id)
        if resource is None or isinstance(resource, str):
            continue
        resource_json = resource_map._resource_json_map[logical_id]
        try:
            resource_map._delete_resource(resource, resource_json)
            resource_map._parsed_resources.pop(logical_id, None)
            _add_resource_event(stack, logical_id, resource, resource_json["Type"], "DELETE_COMPLETE")
        except Exception as exc:  # noqa: BLE001 - keep rolling back the rest
            _add_resource_event(stack, logical_id, resource, resource_json["Type"], "DELETE_FAILED", _reason(exc))


def _fail_create(stack: Any, exc: BaseException) -> None:
    """A resource failed: record it and roll back, as CloudFormation does."""
    logical_id, resource_type, reason = _local.failed or (stack.name, "AWS::CloudFormation::Stack", _reason(exc))
    log.info("stack %s: %s (%s) failed: %s", stack.name, logical_id, resource_type, reason, exc_info=exc)
    _add_resource_event(stack, logical_id, None, resource_type, "CREATE_FAILED", reason)
    summary = f"The following resource(s) failed to create: [{logical_id}]. "
    if stack.disable_rollback:
        stack.status, stack.status_reason = "CREATE_FAILED", summary
        stack._add_stack_event("CREATE_FAILED", resource_status_reason=summary)
        return
    stack.status = "ROLLBACK_IN_PROGRESS"
    stack._add_stack_event("ROLLBACK_IN_PROGRESS", resource_status_reason=summary + "Rollback requested by user.")
    _rollback(stack)
    stack.status, stack.status_reason = "ROLLBACK_COMPLETE", summary + "Rollback requested by user."
    stack._add_stack_event("ROLLBACK_COMPLETE")


def _patch_stack() -> None:
    from moto.cloudformation.models import CloudFormationBackend, Stack

    original_create = Stack.create_resources
    original_delete = Stack.delete
    original_outputs = Stack.outputs

    def create_resources(self: Any) -> None:
        _local.stack, _local.failed = self, None
        try:
            original_create(self)
        except Exception as exc:  # noqa: BLE001 - becomes the stack's failure, as on AWS
            _fail_create(self, exc)
        finally:
            _local.stack, _local.failed = None, None

    def delete(self: Any, retain: list[str] | None = None) -> None:
        resource_map = self.resource_map
        for logical_id in retain or []:
            # RetainResources: kept out of the delete (and out of the stack), as on AWS.
            if logical_id in resource_map._resource_json_map:
                resource_map._resource_json_map[logical_id]["DeletionPolicy"] = "Retain"
                resource_map._parsed_resources.pop(logical_id, None)
                _add_resource_event(self, logical_id, None, resource_map._resource_json_map[logical_id]["Type"],
                                    "DELETE_SKIPPED", "Resource retained (RetainResources)")
        _apply_deletion_policies(self)
        before = {k: resource_map._parsed_resources[k] for k in _delete_order(resource_map)}
        try:
            _ordered_delete(resource_map)
            original_delete(self)
        except Exception as exc:  # noqa: BLE001 - becomes DELETE_FAILED, as on AWS
            reason = _reason(exc)
            remaining = sorted(k for k in resource_map._parsed_resources if k in resource_map._resource_json_map)
            for logical_id in remaining:
                resource = resource_map._parsed_resources.get(logical_id)
                _add_resource_event(self, logical_id, None if isinstance(resource, str) else resource,
                                    resource_map._resource_json_map[logical_id].get("Type", ""), "DELETE_FAILED",
                                    reason)
            self.status = "DELETE_FAILED"
            self.status_reason = f"The following resource(s) failed to delete: {remaining}. {reason}"
            self._add_stack_event("DELETE_FAILED", resource_status_reason=self.status_reason)
            log.warning("stack %s: delete failed: %s", self.name, self.status_reason)
        finally:
            for logical_id, resource in before.items():
                if logical_id not in resource_map._parsed_resources:
                    resource_json = resource_map._resource_json_map.get(logical_id, {})
                    _add_resource_event(self, logical_id, resource, resource_json.get("Type", ""), "DELETE_COMPLETE")

    def outputs(self: Any) -> Any:
        if self.status not in ("CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE",
                               "UPDATE_ROLLBACK_FAILED", "DELETE_FAILED"):
            return None
        return original_outputs.fget(self)

    def stack_resources(self: Any) -> list[Any]:
        """Only what exists: moto's lazy map would CREATE every missing resource when listed."""
        resource_map = self.resource_map
        return [r for k, r in resource_map._parsed_resources.items()
                if k in resource_map._resource_json_map and r is not None and not isinstance(r, str)]

    def execute_change_set(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
        change_set = self.describe_change_set(change_set_name)
        stack = self.stacks[change_set.stack_id]
        if change_set.execution_status != "AVAILABLE":
            raise _stack_error(f"ChangeSet [{change_set.change_set_id}] cannot be executed in its current "
                               f"execution status of [{change_set.execution_status}]")
        change_set.execution_status = "EXECUTE_IN_PROGRESS"
        if change_set.change_set_type == "CREATE":
            # The same path as CreateStack (dependency order, stack tags, failure handling).
            stack.template = change_set.template
            stack._parse_template()
            stack.parameters = change_set.parameters
            stack.description = stack.template_dict.get("Description")
            stack.resource_map = stack._create_resource_map()
            stack.output_map = stack._create_output_map()
            stack._add_stack_event("CREATE_IN_PROGRESS", resource_status_reason="User Initiated")
            stack.create_resources()
        else:
            stack._add_stack_event("UPDATE_IN_PROGRESS", resource_status_reason="User Initiated")
            stack.status = "UPDATE_IN_PROGRESS"
            _local.stack, _local.failed = stack, None
            try:
                change_set.apply()
                stack.template = change_set.template
                stack._parse_template()
                stack.parameters = change_set.parameters or stack.parameters
                stack.output_map = stack._create_output_map()
                stack.status = "UPDATE_COMPLETE"
                stack._add_stack_event("UPDATE_COMPLETE")
            except Exception as exc:  # noqa: BLE001 - becomes the stack's failure
                logical_id, resource_type, reason = _local.failed or (stack.name, "AWS::CloudFormation::Stack",
                                                                      _reason(exc))
                _add_resource_event(stack, logical_id, None, resource_type, "UPDATE_FAILED", reason)
                # moto cannot undo the changes already made: say so instead of claiming a rollback.
                stack.status = "UPDATE_ROLLBACK_FAILED"
                stack.status_reason = (f"The following resource(s) failed to update: [{logical_id}]. {reason} "
                                       f"(the local cloud cannot roll an update back)")
                stack._add_stack_event("UPDATE_ROLLBACK_FAILED", resource_status_reason=stack.status_reason)
            finally:
                _local.stack, _local.failed = None, None
        change_set.execution_status = "EXECUTE_COMPLETE" if stack.status.endswith("_COMPLETE") \
            and "ROLLBACK" not in stack.status else "EXECUTE_FAILED"

    def delete_stack(self: Any, name_or_stack_id: str, retain: list[str] | None = None) -> None:
        stack = self.stacks.get(name_or_stack_id) or next(
            (s for s in self.stacks.values() if s.name == name_or_stack_id), None)
        if stack is None:
            return  # deleting a stack that does not exist succeeds, as on AWS
        if retain and stack.status != "DELETE_FAILED":
            raise _stack_error(f"Invalid operation on stack [{stack.stack_id}]: RetainResources can only be "
                               "specified when the stack is in the DELETE_FAILED state")
        stack.delete(retain)
        if stack.status == "DELETE_FAILED":
            return  # stays listed (and can be deleted again), as on AWS
        self.stacks.pop(stack.stack_id, None)
        self.deleted_stacks[stack.stack_id] = stack
        for export in list(self.exports.values()):
            if export.exporting_stack_id == stack.stack_id:
                self.exports.pop(export.name, None)

    def continue_update_rollback(self: Any, name_or_stack_id: str) -> None:
        """The local cloud has no rollback to continue (it never undid an update): the stack is
        declared back at its previous template, as CloudFormation does once the rollback ends."""
        stack = self.stacks.get(name_or_stack_id) or next(
            (s for s in self.stacks.values() if s.name == name_or_stack_id), None)
        if stack is None:
            raise _stack_error(f"Stack [{name_or_stack_id}] does not exist")
        if stack.status != "UPDATE_ROLLBACK_FAILED":
            raise _stack_error(f"Stack [{stack.name}] is in {stack.status} state and can not continue a rollback")
        stack._add_stack_event("UPDATE_ROLLBACK_IN_PROGRESS", resource_status_reason="Continue rollback requested")
        stack.status = "UPDATE_ROLLBACK_COMPLETE"
        stack.status_reason = "Rollback continued (local cloud: resources updated before the failure keep their " \
                              "new settings)"
        stack._add_stack_event("UPDATE_ROLLBACK_COMPLETE", resource_status_reason=stack.status_reason)

    Stack.create_resources = create_resources  # type: ignore[method-assign]
    Stack.delete = delete  # type: ignore[method-assign]
    Stack.outputs = property(outputs)  # type: ignore[method-assign,assignment]
    Stack.stack_resources = property(stack_resources)  # type: ignore[method-assign,assignment]
    CloudFormationBackend.execute_change_set = execute_change_set  # type: ignore[method-assign]
    CloudFormationBackend.delete_stack = delete_stack  # type: ignore[method-assign]
    CloudFormationBackend.continue_update_rollback = continue_update_rollback  # type: ignore[attr-defined]
    _patch_responses()


# After a restore: stacks the stopped process was working on. CloudFormation itself would have
# finished each operation; here it died with the process and nothing will ever advance it, so it
# ends the way a failed operation ends, and HiveMind's stuck-stack recovery takes it from there.
INTERRUPTED_OPERATIONS = {
    "CREATE_IN_PROGRESS": "CREATE_FAILED",
    "ROLLBACK_IN_PROGRESS": "ROLLBACK_FAILED",
    "DELETE_IN_PROGRESS": "DELETE_FAILED",
    "UPDATE_IN_PROGRESS": "UPDATE_ROLLBACK_FAILED",
    "UPDATE_ROLLBACK_IN_PROGRESS": "UPDATE_ROLLBACK_FAILED",
    "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS": "UPDATE_COMPLETE",
    "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS": "UPDATE_ROLLBACK_COMPLETE",
}


def fail_interrupted(reason: str) -> list[str]:
    """End every stack operation a stopped local cloud left running; returns "name: OLD -> NEW" lines.

    REVIEW_IN_PROGRESS (a change set never executed) is a resting state and stays.
    """
    from moto.cloudformation.models import cloudformation_backends

    ended = []
    for account in list(dict.values(cloudformation_backends)):
        for backend in list(dict.values(account)):
            for stack in list(backend.stacks.values()):
                new = INTERRUPTED_OPERATIONS.get(stack.status)
                if new is None:
                    continue
                ended.append(f"{stack.name}: {stack.status} -> {new}")
                stack.status, stack.status_reason = new, reason
                stack._add_stack_event(new, resource_status_reason=reason)
    return ended


def _patch_responses() -> None:
    """DeleteStack's RetainResources and ContinueUpdateRollback, which moto's API layer lacks."""
    from moto.cloudformation.responses import CloudFormationResponse
    from moto.core.responses import EmptyResult

    def delete_stack(self: Any) -> Any:
        self.cloudformation_backend.delete_stack(self._get_param("StackName"),
                                                 self._get_param("RetainResources", []) or None)
        return EmptyResult()

    def continue_update_rollback(self: Any) -> Any:
        self.cloudformation_backend.continue_update_rollback(self._get_param("StackName"))
        return EmptyResult()

    CloudFormationResponse.delete_stack = delete_stack  # type: ignore[method-assign]
    CloudFormationResponse.continue_update_rollback = continue_update_rollback  # type: ignore[attr-defined]


def _ordered_delete(resource_map: Any) -> None:
    """Delete newest-first (dependents before their dependencies), retrying what is still in use.

    moto deletes in set order and retries failures; a resource it deletes too early can succeed
    anyway and orphan what depended on it. Newest-first mirrors CloudFormation's reverse
    dependency order; a resource whose delete fails is retried after the others.
    """
    pending = [k for k in _delete_order(resource_map)
               if resource_map._resource_json_map[k].get("DeletionPolicy") != "Retain"]
    last_error: Exception | None = None
    for _attempt in range(5):
        failed = []
        for logical_id in pending:
            resource = resource_map._parsed_resources.get(logical_id)
            if resource is None or isinstance(resource, str):
                resource_map._parsed_resources.pop(logical_id, None)
                continue
            try:
                resource_map._delete_resource(resource, resource_map._resource_json_map[logical_id])
                resource_map._parsed_resources.pop(logical_id, None)
            except Exception as exc:  # noqa: BLE001 - retried after the others
                last_error = exc
                failed.append(logical_id)
        if not failed:
            return
        pending = failed
    if last_error is not None:
        raise last_error


def _apply_deletion_policies(stack: Any) -> None:
    """DeletionPolicy Snapshot on an RDS instance: a final snapshot before the delete (as on AWS)."""
    from moto.rds.models import rds_backends

    resource_map = stack.resource_map
    for logical_id, resource_json in resource_map._resource_json_map.items():
        if resource_json.get("DeletionPolicy") != "Snapshot" or resource_json.get("Type") != "AWS::RDS::DBInstance":
            continue
        db = resource_map._parsed_resources.get(logical_id)
        if db is None or isinstance(db, str):
            continue
        backend = rds_backends[stack.account_id][stack.region_name]
        snapshot_id = f"{stack.name}-{logical_id}-final".lower()[:255]
        with contextlib.suppress(Exception):
            backend.create_db_snapshot(db.db_instance_identifier, snapshot_id,
                                       tags=[{"Key": t["Key"], "Value": t["Value"]} for t in db.tags or []])
            log.info("stack %s: final snapshot %s of %s (DeletionPolicy: Snapshot)", stack.name, snapshot_id,
                     db.db_instance_identifier)


def _patch_public_parameters() -> None:
    """AWS public SSM parameters the templates name, pointing at an image moto has."""
    from moto.ssm.models import SimpleSystemManagerBackend

    original = SimpleSystemManagerBackend.get_parameter

    def get_parameter(self: Any, name: str) -> Any:
        result = original(self, name)
        if result is None and name.startswith("/aws/service/ami-amazon-linux-latest/"):
            from moto.ec2.models import ec2_backends

            images = ec2_backends[self.account_id][self.region_name].describe_images()
            arch = "arm64" if "arm64" in name else "x86_64"
            matching = [i for i in images if i.architecture == arch] or list(images)
            if not matching:
                return None
            self.put_parameter(name=name, description="AWS public parameter (HiveMind local cloud)",
                               value=matching[0].id, parameter_type="String", allowed_pattern=None, keyid=None,
                               overwrite=True, tags=[], data_type="aws:ec2:image", tier=None, policies=None)
            result = original(self, name)
        return result

    SimpleSystemManagerBackend.get_parameter = get_parameter  # type: ignore[method-assign]


def install() -> None:
    """Register the models and patches (call once, in the server process, before any stack)."""
    from moto.cloudformation import parsing

    _patch_parsing()
    _patch_resource_map()
    _patch_stack()
    _patch_ssm_parameter()
    _patch_elbv2()
    _patch_rds()
    _patch_public_parameters()
    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()
    missing = [m.cloudformation_type() for m in (SecretModel, SecretTargetAttachmentModel, AlarmModel)
               if m.cloudformation_type() not in parsing.get_model_map()]
    if missing:
        raise RuntimeError(f"CloudFormation models not registered: {missing}")


def cleanup_stale(_ctx: Any) -> None:
    """Nothing outside the emulator's memory."""


def shutdown() -> None:
    """Nothing outside the emulator's memory."""
