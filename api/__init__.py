"""FastAPI app: one router per resource, pydantic models at the edge, bearer API keys."""
