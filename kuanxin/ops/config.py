"""`kuanxin config check`: the effective configuration, secrets masked, and every bad value named.

The table of settings (kuanxin.core.settings.SETTINGS) names each variable, what kind of value it holds,
its default and what it is for; `check()` validates the environment against it (and the policy, the text
catalogue and the settings whose modules check combinations themselves: stores, WeChat), so a bad value
stops a deployment before anything starts instead of failing on the first borrower's message.
"""
from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

from kuanxin.core.settings import SETTINGS, Setting, problem

MASK = "••••"


def shown(setting: Setting, value: str) -> str:
    """The value as it may be printed: secrets masked, a URL's password masked."""
    if not value:
        return ""
    if setting.kind == "secret":
        return MASK
    if setting.kind == "url":
        return _without_password(value)
    if setting.kind == "urls":
        return ",".join(_without_password(url.strip()) for url in value.split(","))
    return value


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if not parts.password:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:{MASK}@{host}"))


def effective(env: Mapping[str, str]) -> list[tuple[Setting, str, str]]:
    """(setting, value as shown, where it comes from) for every setting."""
    rows = []
    for setting in SETTINGS:
        value = (env.get(setting.name) or "").strip()
        rows.append((setting, shown(setting, value) if value else setting.default, "env" if value else "default"))
    return rows


def check(env: Mapping[str, str]) -> list[str]:
    """Every problem with the configuration, each naming what to fix; empty when all is well."""
    from kuanxin.core import policy, settings, texts
    from kuanxin.outbound.target import webhook_target
    from kuanxin.wechat.config import settings_from_env

    problems = [p for s in SETTINGS if (v := (env.get(s.name) or "").strip()) and (p := problem(s, v))]
    for what in (lambda: settings.rasa_store_env(env), lambda: settings.redis_prefix(env),
                 lambda: settings_from_env(env), lambda: webhook_target(env)):
        try:
            what()
        except ValueError as exc:
            problems.append(str(exc))
    policy_file = settings.Settings(env).policy_path
    try:
        policy.load_policy(policy_file)
    except (OSError, ValueError) as exc:
        problems.append(f"KUANXIN_POLICY ({policy_file}): {exc}")
    try:
        texts.catalogue.cache_clear()
        texts.catalogue(texts.DEFAULT_LANGUAGE)
    except (OSError, ValueError) as exc:
        problems.append(f"KUANXIN_TEXTS: {exc}")
    return list(dict.fromkeys(problems))  # a bad value found by two checks is named once


def report(env: Mapping[str, str]) -> tuple[str, bool]:
    """The printable configuration and whether it is sound."""
    rows = effective(env)
    width = max(len(s.name) for s, _, _ in rows)
    lines = [f"{s.name:<{width}}  {value or '-':<40}  {source:<7}  {s.meaning}" for s, value, source in rows]
    problems = check(env)
    lines += ["", *(f"error: {p}" for p in problems)] if problems else ["", "configuration ok"]
    return "\n".join(lines), not problems
