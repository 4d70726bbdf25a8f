from pathlib import Path

import pytest

from core.settings import Settings
from devstack.services import ServiceError, ensure_model


def test_missing_model_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ServiceError, match=r"HUNTAZE_MODEL_PATH=.*is not a file"):
        ensure_model(Settings(local_model_path=tmp_path / "nope.gguf"))


def test_cached_model_is_used_without_download(tmp_path: Path) -> None:
    (tmp_path / "SmolLM2-135M-Instruct.Q4_1.gguf").write_bytes(b"GGUF")
    assert ensure_model(Settings(model_cache=tmp_path)) == tmp_path / "SmolLM2-135M-Instruct.Q4_1.gguf"
