"""kuanxin custom actions: thin adapters between Rasa and the kuanxin domain package."""
from actions import timings
from kuanxin.lending.privacy import install_log_masking

install_log_masking()  # an action server imports this package first: its log never prints a full number
timings.install()  # per-stage timings for the benchmark, only when KUANXIN_STAGE_TIMINGS is set
