"""The Slack app's settings: Slack's own variable names for its secrets, ours for the rest.

Unset `SLACK_SIGNING_SECRET` or `SLACK_BOT_TOKEN` means no Slack: `codesense serve` does not
mount `/slack/events`. Allow-lists are Slack ids: `CODESENSE_SLACK_CHANNELS="C0123,C0456"`,
`CODESENSE_SLACK_USERS="U0123=coder,U0456=auditor"`. Unset, every channel the bot is in is
allowed and every user is a coder; set, everyone else gets a polite refusal.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from apps.actors import ROLES, Role

SLACK_API_URL = "https://slack.com/api/"
_SLACK_ID = re.compile(r"^[A-Z0-9]{2,32}$")


def _alias(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class SlackSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    signing_secret: SecretStr | None = Field(
        default=None, validation_alias=_alias("SLACK_SIGNING_SECRET", "signing_secret")
    )
    bot_token: SecretStr | None = Field(
        default=None, validation_alias=_alias("SLACK_BOT_TOKEN", "bot_token")
    )
    # Socket Mode only (`codesense slack --socket`): an app-level token, xapp-...
    app_token: SecretStr | None = Field(
        default=None, validation_alias=_alias("SLACK_APP_TOKEN", "app_token")
    )
    # Where the Web API lives; tests and benchmarks point it at a stub on 127.0.0.1.
    api_url: str = Field(
        default=SLACK_API_URL, validation_alias=_alias("CODESENSE_SLACK_API_URL", "api_url")
    )
    # The server's address as coders' browsers reach it, for links to the trace page.
    public_url: str | None = Field(
        default=None, validation_alias=_alias("CODESENSE_PUBLIC_URL", "public_url")
    )
    channels: Annotated[frozenset[str], NoDecode] = Field(
        default=frozenset(), validation_alias=_alias("CODESENSE_SLACK_CHANNELS", "channels")
    )
    users: Annotated[dict[str, Role], NoDecode] = Field(
        default_factory=dict, validation_alias=_alias("CODESENSE_SLACK_USERS", "users")
    )

    @field_validator("api_url", "public_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None if value is None else value
        value = value.strip()
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL")
        return value

    @field_validator("channels", mode="before")
    @classmethod
    def _channel_list(cls, value: object) -> object:
        if isinstance(value, str):
            ids = [c.strip() for c in value.split(",") if c.strip()]
            for c in ids:
                if not _SLACK_ID.match(c):
                    raise ValueError(f"{c[:20]!r} is not a Slack channel id (like C0123ABCD)")
            return frozenset(ids)
        return value

    @field_validator("users", mode="before")
    @classmethod
    def _user_roles(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        users: dict[str, str] = {}
        for item in (i.strip() for i in value.split(",")):
            if not item:
                continue
            user, sep, role = item.partition("=")
            user, role = user.strip(), role.strip()
            if not sep or not _SLACK_ID.match(user) or role not in ROLES:
                raise ValueError(
                    f"{item[:40]!r}: write USERID=ROLE with a Slack user id and one of "
                    + ", ".join(ROLES)
                )
            users[user] = role
        return users

    @property
    def enabled(self) -> bool:
        """Both secrets set: the app can verify requests and post answers."""
        return bool(self.signing_secret and self.bot_token)

    def api_base(self) -> str:
        """The Web API URL with the trailing slash slack_sdk expects."""
        return self.api_url.rstrip("/") + "/"

    def trace_link(self, run_id: str) -> str | None:
        """The run's page (its trace beside the chart), when the server's address is known."""
        if not self.public_url:
            return None
        return f"{self.public_url.rstrip('/')}/runs/{run_id}"
