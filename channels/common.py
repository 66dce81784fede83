"""What every kuanxin channel says and limits alike."""
MAX_MESSAGE_CHARS = 2000  # longer than any borrower types; the rest is cut, not refused
APOLOGY = "抱歉,系统暂时出了点问题,请稍后再试。如需帮助,可以说「转人工」。"
EMPTY_MESSAGE = "您好像没有输入内容,请告诉我您想咨询什么,例如「我逾期了多少钱」。"
