"""Fixtures for whole conversations against real servers (see testkit/servers.py)."""
import pytest
from sqlalchemy import delete

from kuanxin.store.db import Database
from kuanxin.store.demo import demo_document
from kuanxin.store.importer import load_document
from kuanxin.store.models import (
    ConversationSession,
    Document,
    DocumentConsent,
    Reminder,
    ReminderOptOut,
    ReminderPreference,
    SafetyFlag,
    SatisfactionAsk,
    SatisfactionComment,
    SatisfactionRatingRecord,
)
from testkit import wechat
from testkit.lender_receiver import LenderReceiver
from testkit.servers import LENDER_WEBHOOK_SECRET, MODEL, ActionProxy, Borrower, start_servers
from testkit.sms_gateway import SmsGatewayDouble


@pytest.fixture(scope="session")
def wechat_account():
    return wechat.Account()


@pytest.fixture(scope="session")
def wechat_api(wechat_account):
    """The WeChat API double the servers' WeChat channel calls."""
    api = wechat.Api(wechat_account)
    yield api
    api.close()


@pytest.fixture(scope="session")
def sms_gateway():
    """The SMS gateway double; the servers' /sms/inbound shares its key."""
    gateway = SmsGatewayDouble()
    yield gateway
    gateway.close()


@pytest.fixture(scope="session")
def lender_receiver():
    """The lender's webhook receiver double the servers' deliverer sends events to."""
    receiver = LenderReceiver(LENDER_WEBHOOK_SECRET)
    yield receiver
    receiver.close()


def lender_webhook_env(receiver: LenderReceiver) -> dict[str, str]:
    return {"KUANXIN_LENDER_WEBHOOK_URLS": receiver.url, "KUANXIN_LENDER_WEBHOOK_SECRET": LENDER_WEBHOOK_SECRET}


@pytest.fixture(scope="session")
def action_proxy():
    proxy = ActionProxy()
    yield proxy
    proxy.close()


@pytest.fixture(scope="session")
def servers(tmp_path_factory, wechat_account, wechat_api, action_proxy, sms_gateway, lender_receiver):
    """One set of servers for every end-to-end test: REST, web chat and WeChat (against the double), and the
    deliverer of the lender's events (to the receiver double)."""
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run `make train`")
    workdir = tmp_path_factory.mktemp("servers")
    url = f"sqlite:///{workdir / 'accounts.db'}"
    db = Database(url)
    db.create_schema()
    load_document(db, demo_document())
    running = start_servers(workdir, url, {**wechat_account.env(wechat_api.url), **sms_gateway.env(),
                                           **lender_webhook_env(lender_receiver)}, action_proxy)
    running.logs = workdir
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def db(servers):
    """The servers' account database, reloaded with the demo accounts so each test starts alike."""
    database = Database(servers.env["KUANXIN_DATABASE_URL"])
    load_document(database, demo_document())
    with database.session() as session:  # kept across account loads by design; not across tests
        for model in (ReminderOptOut, Reminder, ConversationSession, SafetyFlag, ReminderPreference, Document,
                      DocumentConsent, SatisfactionComment, SatisfactionRatingRecord, SatisfactionAsk):
            session.execute(delete(model))
    return database


@pytest.fixture
def borrower(servers, db):
    return Borrower(servers)


@pytest.fixture
def another_borrower(servers, db):
    return Borrower(servers)
