"""The staff console: the escalation queue, conversations, take-over and replies, decisions, audit."""
