from pathlib import Path

import pytest

from cli.main import main
from cli.services import ServiceError, ensure_model
from core.settings import Settings


def test_bad_flag_value_names_the_flag() -> None:
    with pytest.raises(SystemExit, match="--until: 'someday' is not a date"):
        main(["seed", "--until", "someday"])


def test_bad_setting_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUNTAZE_API_PORT", "eighty")
    with pytest.raises(SystemExit, match="HUNTAZE_API_PORT"):
        main(["db", "migrate"])


def test_missing_model_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ServiceError, match=r"HUNTAZE_MODEL_PATH=.*is not a file"):
        ensure_model(Settings(local_model_path=tmp_path / "nope.gguf"))


def test_cached_model_is_used_without_download(tmp_path: Path) -> None:
    (tmp_path / "SmolLM2-135M-Instruct.Q4_1.gguf").write_bytes(b"GGUF")
    assert ensure_model(Settings(model_cache=tmp_path)) == tmp_path / "SmolLM2-135M-Instruct.Q4_1.gguf"
