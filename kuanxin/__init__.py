"""kuanxin (宽心): the domain package the actions, channels, console and tools all call. It knows nothing of Rasa.

Layers, each importing only those below it (checked by `lint-imports` in `make lint`):
  ops        the command line, start-up checks, serving and the cluster supervisor
  console    staff accounts, casework and analytics     reminders   outbound reminders
  wechat     the WeChat API client and message rendering
  store      the account database: models, migrations, repositories, imports, Redis lock keys
  lending    the rules of an overdue loan: amounts, eligibility, plans, identity, safety, segments (no I/O)
  core       money, the clock, Chinese parsing and formatting, settings, the policy and the text catalogue
"""
