"""Shared request dependencies: the Temporal client and settings live on app.state."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from temporalio.client import Client

from core.settings import Settings


@dataclass
class Runtime:
    temporal: Client
    settings: Settings


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt
