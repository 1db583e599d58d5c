"""Settings of the Lambda tasks and the CLI, from environment variables (prefix ``HIVEMIND_``).

Handlers never read ``os.environ`` themselves: they ask for ``get_settings()``. The CDK app sets these
variables on every function; the local cloud sets the same ones in its process.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from hivemind import constants


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HIVEMIND_", extra="ignore")

    table_name: str = constants.TABLE_NAME
    idempotency_table_name: str = constants.IDEMPOTENCY_TABLE_NAME
    event_bus_name: str = constants.EVENT_BUS_NAME
    artifacts_bucket: str = ""
    deploy_state_machine_arn: str = ""
    destroy_state_machine_arn: str = ""
    retry_state_machine_arn: str = ""
    cleanup_schedule_group: str = "hivemind-cleanup"
    cleanup_role_arn: str = ""
    # The role CloudFormation assumes for application stacks (the provision task itself has no
    # EC2/ELB/RDS rights). Empty in the local cloud, where the emulator does not check IAM.
    cfn_execution_role_arn: str = ""
    cleanup_timer_hours: float = Field(default=constants.CLEANUP_TIMER_HOURS, ge=0)
    cleanup_action: str = Field(default="remind", pattern="^(remind|destroy)$")
    # The scheduled orphan sweep only lists (and emits Orphans Found); True makes it delete too.
    sweep_delete: bool = False
    # Optional LLM reading of a diagnosis (Amazon Bedrock Converse); off by default, nothing depends on it.
    llm_diagnosis: bool = False
    llm_model_id: str = constants.LLM_MODEL_ID
    max_retries: int = Field(default=3, ge=0)
    max_repo_size_mb: int = Field(default=200, ge=1)
    work_dir: str = "/tmp/hivemind"
    # Each wait-loop check (stack, command, health) looks again every SETTLE_STEP_S for up to this
    # long before the state machine's Wait: what ends just after a check is seen at once, not one
    # poll interval later. 0 turns it off. A loop's time bound is then polls x (interval + settle).
    settle_s: float = Field(default=2.0, ge=0, le=10)
    # Set only in the local cloud: the poll interval of wait loops (seconds) can be shortened there.
    poll_interval_s: int | None = Field(default=None, ge=1)
    local: bool = False


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
