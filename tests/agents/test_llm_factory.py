import pytest
from langchain_openai import AzureChatOpenAI, ChatOpenAI

from agents.llm import make_chat_model
from core.settings import Settings


def test_openai_variables_are_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_MODEL", "gpt-test")
    s = Settings()
    model = make_chat_model(s)
    assert isinstance(model, ChatOpenAI)
    assert model.openai_api_base == "http://127.0.0.1:9/v1" and model.model_name == "gpt-test"
    assert not s.llm_is_local


def test_azure_settings_build_azure_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://example.openai.azure.com")
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "k")
    monkeypatch.setenv("AZURE_OPENAI_DEPLOYMENT", "gpt4o")
    model = make_chat_model(Settings())
    assert isinstance(model, AzureChatOpenAI) and model.deployment_name == "gpt4o"
    monkeypatch.delenv("AZURE_OPENAI_DEPLOYMENT")
    with pytest.raises(ValueError, match="AZURE_OPENAI_DEPLOYMENT"):
        make_chat_model(Settings())


def test_no_endpoint_means_the_local_engine() -> None:
    s = Settings(local_llm_port=8099)
    model = make_chat_model(s)
    assert isinstance(model, ChatOpenAI) and model.openai_api_base == "http://127.0.0.1:8099/v1"
