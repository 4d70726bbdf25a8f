"""LangChain tools the agents call. Each tool set is bound to one creator and one fan at construction:
the scope is never an argument the model can choose."""
