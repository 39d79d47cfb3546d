"""One boto3 session per account, resolved as architecture.md, with counted, cached clients.

For each account, in order:
1. the account's ``role_arn`` from mesh.yaml, assumed from the ambient credentials;
2. a ``--credentials-file`` identity for that account (the helper library's file format);
3. the ambient credentials themselves, when sts:GetCallerIdentity says they are in that account;
4. ``arn:aws:iam::<id>:role/MeshctlDeployer``, assumed from the ambient credentials.

Ambient credentials follow boto3's standard chain (env, profile, SSO, web identity); the
endpoint follows ``AWS_ENDPOINT_URL`` (botocore reads it natively). Assumed-role credentials
refresh themselves before they expire, so a long apply never runs on stale keys.

Invariant: credentials are never logged, printed or put in an error message — only role ARNs,
account ids and the name of the credentials-file section.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.credentials import RefreshableCredentials
from botocore.exceptions import BotoCoreError

from meshctl import __version__
from meshctl.aws.errors import CALL_ERRORS, CREDENTIALS_HINT, to_aws_error
from meshctl.aws.stats import CallStats
from meshctl.errors import AwsError
from meshctl.spec.model import Account, MeshSettings, MeshSpec

DEFAULT_ROLE_NAME = "MeshctlDeployer"
SESSION_NAME = "meshctl"
# Sections of the helper library's credentials file, most privileged first: meshctl does admin
# work in every account, so an *Admin identity wins over the day-to-day one of the same account.
CREDENTIAL_SECTIONS = ("Mesh", "ProducerAdmin", "ConsumerAdmin", "Producer", "Consumer")


@dataclass(frozen=True)
class StaticCredentials:
    """Keys for one account from a credentials file. ``repr`` never shows the secrets."""

    account_id: str
    section: str
    access_key_id: str = field(repr=False)
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)


def load_credentials_file(path: Path) -> dict[str, StaticCredentials]:
    """Account id → credentials from a helper-library credentials file (first section wins)."""
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise AwsError(f"cannot read credentials file {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise AwsError(f"credentials file {path} is not JSON (line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise AwsError(f"credentials file {path}: expected a JSON object")
    out: dict[str, StaticCredentials] = {}
    for section in CREDENTIAL_SECTIONS:
        entry = data.get(section)
        if not isinstance(entry, dict) or not entry.get("AccountId"):
            continue
        account_id = str(entry["AccountId"])
        if not entry.get("AccessKeyId") or not entry.get("SecretAccessKey"):
            raise AwsError(
                f"credentials file {path}: section {section} needs AccessKeyId and SecretAccessKey"
            )
        out.setdefault(
            account_id,
            StaticCredentials(
                account_id=account_id,
                section=section,
                access_key_id=str(entry["AccessKeyId"]),
                secret_access_key=str(entry["SecretAccessKey"]),
                session_token=str(entry["SessionToken"]) if entry.get("SessionToken") else None,
            ),
        )
    return out


def client_config(max_attempts: int = 8, pool: int = 16) -> Config:
    """Adaptive retries absorb throttling (architecture.md); one pool connection per worker."""
    return Config(
        retries={"mode": "adaptive", "max_attempts": max_attempts},
        max_pool_connections=pool,
        connect_timeout=10,
        read_timeout=60,
        user_agent_extra=f"meshctl/{__version__}",
    )


class _ClientClasses:
    """One client class per service for every account's clients.

    botocore builds a new class for each client it creates (a function per operation: about
    3,000 objects for Glue); with a client per service per account, those classes were most of
    the objects a plan's read kept alive. Through botocore's ``creating-client-class`` event (the
    one boto3 extends clients with), a later client of a service gets an empty subclass of the
    first one's class: the same methods, built once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_service: dict[str, type] = {}

    def remember(self, client: Any) -> None:
        service_id = client.meta.service_model.service_id.hyphenize()
        with self._lock:
            self._by_service.setdefault(service_id, type(client))

    def reuse(
        self, class_attributes: dict[str, Any], base_classes: list[type], event_name: str, **_: Any
    ) -> None:
        with self._lock:
            known = self._by_service.get(event_name.rpartition(".")[2])
        if known is not None:
            class_attributes.clear()
            base_classes[:] = [known]


@dataclass
class _Resolved:
    session: boto3.Session
    acting_as: str  # a role ARN or a description of the identity; never a key
    clients: dict[str, Any] = field(default_factory=dict)


class AccountSessions:
    """Sessions and clients per account id; safe to share between threads."""

    def __init__(
        self,
        mesh: MeshSettings,
        accounts: Sequence[Account] = (),
        *,
        base_session: boto3.Session | None = None,
        static_credentials: Mapping[str, StaticCredentials] | None = None,
        stats: CallStats | None = None,
        max_attempts: int = 8,
        pool: int = 16,
    ) -> None:
        self.mesh_account_id = mesh.account_id
        self.region = mesh.region
        self.stats = stats if stats is not None else CallStats()
        self._role_arns: dict[str, str] = {a.account_id: a.role_arn for a in accounts if a.role_arn}
        if mesh.role_arn:
            self._role_arns[mesh.account_id] = mesh.role_arn
        self._static = dict(static_credentials or {})
        try:
            self._base = base_session or boto3.Session(region_name=mesh.region)
        except BotoCoreError as exc:  # e.g. AWS_PROFILE names a profile that does not exist
            raise AwsError(f"cannot load the AWS configuration: {exc}. {CREDENTIALS_HINT}") from exc
        self._config = client_config(max_attempts, pool)
        # Fewer attempts for STS: it is the first call, and an unreachable endpoint or bad
        # credentials should fail in seconds, not after a minute of backoff.
        self._sts_config = client_config(min(max_attempts, 3), pool)
        self._lock = threading.Lock()
        self._account_locks: dict[str, threading.Lock] = {}
        self._resolved: dict[str, _Resolved] = {}
        self._caller: dict[str, str] | None = None
        self._caller_lock = threading.Lock()
        # One STS client per source of assumed roles (thread-safe, like every botocore client),
        # and the event handlers every botocore session starts with, registered once: creating
        # a session per account and a client per assumption was most of a no-op plan's own CPU.
        self._sts_clients: dict[str, Any] = {}
        self._builtin_events: Any = None
        self._client_classes = _ClientClasses()

    @classmethod
    def for_spec(
        cls, spec: MeshSpec, *, credentials_file: Path | None = None, **kwargs: Any
    ) -> AccountSessions:
        static = load_credentials_file(credentials_file) if credentials_file else None
        return cls(spec.mesh, spec.accounts, static_credentials=static, **kwargs)

    # --- public ------------------------------------------------------------------------------

    def session(self, account_id: str) -> boto3.Session:
        return self._resolve(account_id).session

    def client(self, account_id: str, service: str) -> Any:
        """The one client of ``service`` in ``account_id`` (created once, counted in stats)."""
        resolved = self._resolve(account_id)
        with self._account_lock(account_id):
            client = resolved.clients.get(service)
            if client is None:
                client = resolved.session.client(
                    service, region_name=self.region, config=self._config
                )
                self._client_classes.remember(client)
                self.stats.attach(client, account_id)
                resolved.clients[service] = client
            return client

    def acting_as(self, account_id: str) -> str:
        """Who meshctl is in ``account_id``, for messages (a role ARN, never a key)."""
        with self._lock:
            resolved = self._resolved.get(account_id)
        if resolved is not None:
            return resolved.acting_as
        role = self._role_arns.get(account_id)
        return role or f"arn:aws:iam::{account_id}:role/{DEFAULT_ROLE_NAME}"

    def caller_arn(self) -> str:
        """The ARN of the identity running meshctl, for ``UpdatedBy``/``CreatedBy``."""
        identity = self._caller_identity()
        if identity is not None:
            return identity["Arn"]
        sts = self.client(self.mesh_account_id, "sts")
        try:
            return str(sts.get_caller_identity()["Arn"])
        except CALL_ERRORS as exc:
            raise self._error(exc, self.mesh_account_id, "sts") from exc

    # --- resolution --------------------------------------------------------------------------

    def _account_lock(self, account_id: str) -> threading.Lock:
        with self._lock:
            return self._account_locks.setdefault(account_id, threading.Lock())

    def _resolve(self, account_id: str) -> _Resolved:
        with self._lock:
            done = self._resolved.get(account_id)
        if done is not None:
            return done
        with self._account_lock(account_id):
            with self._lock:
                done = self._resolved.get(account_id)
            if done is None:
                done = self._new_session(account_id)
                with self._lock:
                    self._resolved[account_id] = done
            return done

    def _new_session(self, account_id: str) -> _Resolved:
        role_arn = self._role_arns.get(account_id)
        if role_arn:
            return self._assume(account_id, role_arn)
        static = self._static.get(account_id)
        if static is not None:
            session = boto3.Session(
                aws_access_key_id=static.access_key_id,
                aws_secret_access_key=static.secret_access_key,
                aws_session_token=static.session_token,
                region_name=self.region,
                botocore_session=self._botocore_session(),
            )
            return _Resolved(session, f"the {static.section} identity of the credentials file")
        identity = self._caller_identity()
        if identity is not None and identity["Account"] == account_id:
            return _Resolved(self._base, identity["Arn"])
        return self._assume(account_id, f"arn:aws:iam::{account_id}:role/{DEFAULT_ROLE_NAME}")

    def _source(self) -> tuple[boto3.Session, str]:
        """Credentials to assume roles from: ambient, else the file's mesh identity."""
        if self._has_ambient_credentials():
            return self._base, "ambient"
        mesh = self._static.get(self.mesh_account_id)
        if mesh is not None:
            return self.session(self.mesh_account_id), mesh.account_id
        raise AwsError(f"no AWS credentials found. {CREDENTIALS_HINT}")

    def _assume(self, account_id: str, role_arn: str) -> _Resolved:
        source, source_name = self._source()
        sts = self._sts(source, source_name)

        def fetch() -> dict[str, str]:
            # Counted against the account entered: it is part of that account's read budget.
            self.stats.record(account_id, "sts", "AssumeRole")
            try:
                creds = sts.assume_role(RoleArn=role_arn, RoleSessionName=SESSION_NAME)[
                    "Credentials"
                ]
            except CALL_ERRORS as exc:
                raise to_aws_error(
                    exc,
                    account_id=account_id,
                    acting_as=self._source_name(),
                    service="sts",
                    operation="AssumeRole",
                ) from exc
            return {
                "access_key": creds["AccessKeyId"],
                "secret_key": creds["SecretAccessKey"],
                "token": creds["SessionToken"],
                "expiry_time": creds["Expiration"].isoformat(),
            }

        credentials = RefreshableCredentials.create_from_metadata(
            metadata=fetch(), refresh_using=fetch, method="sts-assume-role"
        )
        core = self._botocore_session()
        core._credentials = credentials  # the documented way to give a session refreshable creds
        return _Resolved(boto3.Session(botocore_session=core, region_name=self.region), role_arn)

    def _source_name(self) -> str:
        identity = self._caller_identity()
        return identity["Arn"] if identity else "the ambient AWS identity"

    def _sts(self, source: boto3.Session, name: str) -> Any:
        """The STS client of ``source``, named as ``_source`` names it."""
        with self._lock:
            sts = self._sts_clients.get(name)
            if sts is None:
                sts = source.client("sts", region_name=self.region, config=self._sts_config)
                self._sts_clients[name] = sts
            return sts

    def _botocore_session(self) -> Any:
        # Share the base session's model loader: parsing service models once, not per account,
        # is most of the cost of creating clients for many accounts. Each session starts from a
        # copy of botocore's built-in handlers, registered once rather than per account (the
        # same handlers: botocore's list is static; a copy keeps sessions independent).
        with self._lock:
            if self._builtin_events is None:
                self._builtin_events = botocore.session.Session()._original_handler
            events = copy.copy(self._builtin_events)
        events.register_last("creating-client-class", self._client_classes.reuse)
        core = botocore.session.Session(event_hooks=events, include_builtin_handlers=False)
        core.register_component("data_loader", self._base._session.get_component("data_loader"))
        return core

    def _caller_identity(self) -> dict[str, str] | None:
        """sts:GetCallerIdentity of the ambient credentials, once; None without them."""
        with self._caller_lock:
            if self._caller is not None:
                return self._caller or None
            if not self._has_ambient_credentials():
                self._caller = {}
                return None
            sts = self._sts(self._base, "ambient")
            self.stats.record("caller", "sts", "GetCallerIdentity")
            try:
                answer = sts.get_caller_identity()
            except CALL_ERRORS as exc:
                raise to_aws_error(
                    exc,
                    account_id="(caller)",
                    acting_as="the ambient AWS identity",
                    service="sts",
                    operation="GetCallerIdentity",
                ) from exc
            self._caller = {"Account": str(answer["Account"]), "Arn": str(answer["Arn"])}
            return self._caller

    def _has_ambient_credentials(self) -> bool:
        try:
            return self._base.get_credentials() is not None
        except BotoCoreError as exc:  # an expired SSO session, a broken credential_process...
            raise to_aws_error(
                exc, account_id="(caller)", acting_as="the ambient AWS identity"
            ) from exc

    def _error(self, exc: BaseException, account_id: str, service: str) -> AwsError:
        return to_aws_error(
            exc, account_id=account_id, acting_as=self.acting_as(account_id), service=service
        )
