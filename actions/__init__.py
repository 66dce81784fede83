"""kuanxin custom actions: thin adapters between Rasa and the kuanxin domain package."""
from kuanxin.lending.privacy import install_log_masking

install_log_masking()  # the action server imports this package first: its log never prints a full number
