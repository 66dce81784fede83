"""What every layer stands on: money, the clock, Chinese parsing and formatting, settings, policy.yml and the texts."""
