"""Platform adapters that deliver approved messages. The default: an outbox row plus a signed webhook."""
