"""An expected failure is one line: the fields, messages and values of a validation error, with no pydantic link."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from core.failures import brief


class Answer(BaseModel):
    text: str
    price_cents: int


def _invalid() -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        Answer.model_validate_json('{"text": "hi", "price_cents": "lots"}\n')
    return caught.value


def test_a_validation_error_is_one_line_naming_the_field_and_value_without_links() -> None:
    line = brief(_invalid())
    assert "\n" not in line and "errors.pydantic.dev" not in line
    assert line.startswith("ValidationError: invalid answer (1 error(s): price_cents:")
    assert "'lots'" in line


def test_a_wrapped_validation_error_is_found_and_other_errors_keep_their_message() -> None:
    class OutputParserError(Exception):
        pass

    try:
        try:
            raise _invalid()
        except ValidationError as err:
            raise OutputParserError("Failed to parse Answer from completion\n{...}") from err
    except OutputParserError as wrapped:
        assert "price_cents" in brief(wrapped) and brief(wrapped).startswith(
            "OutputParserError: invalid answer"
        )
    assert brief(TimeoutError("Request\ntimed out.")) == "TimeoutError: Request timed out."
    assert len(brief(RuntimeError("x" * 1000))) == 200
