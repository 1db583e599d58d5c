"""RDS: the one direct database call HiveMind makes (destroy --skip-snapshot); the stack owns the rest."""

from __future__ import annotations

from botocore.exceptions import ClientError

from hivemind.adapters.aws import client, error_code


class Databases:
    def __init__(self, region: str | None = None) -> None:
        self.region = region

    def delete_instance(self, identifier: str, *, skip_final_snapshot: bool) -> bool:
        """Delete a DB instance; False when it is already gone or already being deleted."""
        kwargs = {"DBInstanceIdentifier": identifier, "SkipFinalSnapshot": skip_final_snapshot,
                  "DeleteAutomatedBackups": skip_final_snapshot}
        if not skip_final_snapshot:
            kwargs["FinalDBSnapshotIdentifier"] = f"{identifier}-final"
        try:
            client("rds", self.region).delete_db_instance(**kwargs)
        except ClientError as exc:
            if error_code(exc) in {"DBInstanceNotFound", "DBInstanceNotFoundFault", "InvalidDBInstanceState"}:
                return False
            raise
        return True
