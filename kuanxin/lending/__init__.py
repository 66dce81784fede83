"""The rules of an overdue loan, computed from records handed in: no database, no network, no Rasa."""
