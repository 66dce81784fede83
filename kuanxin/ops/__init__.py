"""Operations: the `kuanxin` command line, configuration checks, start-up preflight, serving and the cluster."""
