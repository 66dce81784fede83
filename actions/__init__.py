"""kuanxin custom actions: thin adapters between Rasa and the kuanxin domain package."""
