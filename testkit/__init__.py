"""What the tests and the benchmarks share: the real servers started on free ports (servers), and faithful local
doubles of the outside services kuanxin cannot reach here (wechat: the WeChat platform and its API; sms_gateway)."""
