"""Events out: the deliverer that sends the outbox's events (kuanxin/store/outbox.py) to the lender's webhook
endpoints over HTTP, signed the Standard Webhooks way (kuanxin/core/webhooks.py)."""
