"""WeChat Official Account: settings, the message API client and rendering (nothing here knows Rasa)."""
