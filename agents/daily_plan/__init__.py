"""The Daily Action List: what the creator should do today, ranked by expected value."""
