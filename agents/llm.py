"""The one LLM factory. Every model call in the project goes through langchain-openai."""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel

from core.settings import Settings, get_settings

_override: BaseChatModel | None = None
_cached: BaseChatModel | None = None


def make_chat_model(settings: Settings) -> BaseChatModel:
    """ChatOpenAI against the configured endpoint (Azure when an Azure endpoint is set)."""
    if settings.azure_openai_endpoint:
        from langchain_openai import AzureChatOpenAI

        if not settings.azure_openai_deployment:
            raise ValueError("AZURE_OPENAI_DEPLOYMENT must be set when AZURE_OPENAI_ENDPOINT is set")
        return AzureChatOpenAI(
            azure_endpoint=settings.azure_openai_endpoint,
            azure_deployment=settings.azure_openai_deployment,
            api_version=settings.openai_api_version,
            api_key=settings.azure_openai_api_key,
            max_tokens=settings.llm_max_tokens,
            temperature=settings.llm_temperature,
            timeout=settings.llm_timeout_s,
            max_retries=1,
        )
    from langchain_openai import ChatOpenAI
    from pydantic import SecretStr

    base_url = settings.llm_base_url or settings.local_llm_base_url
    # The local engine needs no key; the OpenAI client insists on one being set.
    api_key = settings.llm_api_key or SecretStr("local-no-key")
    return ChatOpenAI(
        base_url=base_url,
        api_key=api_key,
        model=settings.llm_model,
        max_tokens=settings.llm_max_tokens,
        temperature=settings.llm_temperature,
        timeout=settings.llm_timeout_s,
        max_retries=1,
    )


def make_judge_model(settings: Settings) -> BaseChatModel | None:
    """The eval judge: a separate OpenAI-compatible endpoint, deterministic; None when not configured."""
    if not settings.judge_base_url:
        return None
    from langchain_openai import ChatOpenAI
    from pydantic import SecretStr

    return ChatOpenAI(
        base_url=settings.judge_base_url,
        api_key=settings.judge_api_key or SecretStr("no-key"),
        model=settings.judge_model,
        max_tokens=300,
        temperature=0,
        timeout=settings.llm_timeout_s,
        max_retries=1,
    )


def chat_model() -> BaseChatModel:
    """The process's chat model: the override if one is set, else one built from settings."""
    global _cached
    if _override is not None:
        return _override
    if _cached is None:
        _cached = make_chat_model(get_settings())
    return _cached


def set_chat_model(model: BaseChatModel | None) -> None:
    """Install a model for this process (the worker's choice, or a test double at the edge)."""
    global _override, _cached
    _override = model
    _cached = None
