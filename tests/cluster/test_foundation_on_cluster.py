"""The foundation's end-to-end conversations, unchanged, on two instances behind nginx with PostgreSQL and Redis."""
from tests.e2e.test_conversations import *  # noqa: F403
