"""The production switch: Rasa's store settings from KUANXIN_TRACKER_STORE_URL and KUANXIN_REDIS_URL."""
import pytest

from kuanxin.core.settings import rasa_store_env, redis_prefix


def test_no_tracker_store_url_keeps_the_embedded_default():
    assert rasa_store_env({}) == {}
    assert rasa_store_env({"KUANXIN_REDIS_URL": "redis://127.0.0.1:6379/0"}) == {}


def test_urls_are_split_for_endpoints_production_yml():
    env = rasa_store_env({"KUANXIN_TRACKER_STORE_URL": "postgresql://kx:p%40ss@db.internal:6432/conv",
                          "KUANXIN_REDIS_URL": "redis://:secret@cache:6380/2", "SQL_POOL_SIZE": "4"})
    assert env["KUANXIN_ENDPOINTS"] == "endpoints.production.yml"
    assert (env["KUANXIN_TRACKER_DB_HOST"], env["KUANXIN_TRACKER_DB_PORT"], env["KUANXIN_TRACKER_DB_NAME"],
            env["KUANXIN_TRACKER_DB_USER"], env["KUANXIN_TRACKER_DB_PASSWORD"]) == ("db.internal", "6432", "conv",
                                                                                   "kx", "p@ss")
    assert (env["KUANXIN_REDIS_HOST"], env["KUANXIN_REDIS_PORT"], env["KUANXIN_REDIS_DB"],
            env["KUANXIN_REDIS_PASSWORD"], env["KUANXIN_REDIS_PREFIX"]) == ("cache", "6380", "2", "secret", "kuanxin")
    assert (env["SQL_POOL_SIZE"], env["SQL_MAX_OVERFLOW"]) == ("4", "5")


@pytest.mark.parametrize(("env", "message"), [
    ({"KUANXIN_TRACKER_STORE_URL": "postgresql://h/db"}, "needs KUANXIN_REDIS_URL"),
    ({"KUANXIN_TRACKER_STORE_URL": "mysql://h/db", "KUANXIN_REDIS_URL": "redis://r"}, "must look like postgresql"),
    ({"KUANXIN_TRACKER_STORE_URL": "postgresql://h/db", "KUANXIN_REDIS_URL": "http://r"}, "must look like redis"),
    ({"KUANXIN_TRACKER_STORE_URL": "postgresql://h/db", "KUANXIN_REDIS_URL": "redis://r",
      "KUANXIN_REDIS_PREFIX": "kx:1"}, "letters and digits"),
])
def test_settings_that_cannot_work_are_refused_with_the_reason(env, message):
    with pytest.raises(ValueError, match=message):
        rasa_store_env(env)


def test_redis_prefix_default():
    assert redis_prefix({}) == "kuanxin"
