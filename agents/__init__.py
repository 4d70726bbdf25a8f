"""LangGraph agents: the supervisor graph and the DM agent; the one LLM factory."""
