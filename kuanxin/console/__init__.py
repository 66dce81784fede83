"""The staff console's domain: staff accounts and sessions, casework on requests and conversations, analytics."""
