"""Outbound reminders: who is reminded today, what they are sent, through which channel, and the record of it.

`run` is what `kuanxin reminders run` calls; `selection` holds the lawful-contact rules; `messages` the
texts; `sms` the SMS gateway adapter; `optout` the 退订 record; `promises` the day-after promise check.
"""
