"""Sealed documents in both storages behind one interface: a local folder and S3-compatible storage (moto's S3
server on a free loopback port, over HTTP, through boto3 as production uses it)."""
from __future__ import annotations

import stat

import pytest

from kuanxin.core import settings
from kuanxin.evidence import storage as storages
from kuanxin.evidence.sealing import Sealer, Unreadable
from kuanxin.evidence.storage import LocalFolder, Missing, S3Bucket, new_object_key
from kuanxin.ops.serve import free_port

SECRET_TEXT = "诊断证明:张伟,抑郁症,建议休息三个月".encode()


@pytest.fixture(scope="module")
def s3_endpoint():
    from moto.server import ThreadedMotoServer
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def aws_env(monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "kuanxin-test", "AWS_SECRET_ACCESS_KEY": "kuanxin-test",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def bucket(s3_endpoint, aws_env):
    import boto3
    name = f"kx-{new_object_key()[:12].lower().replace('_', 'a').replace('-', 'b')}"
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=name)
    return name


def both(tmp_path, s3_endpoint, bucket):
    return [LocalFolder(tmp_path / "documents"), S3Bucket(bucket, "kuanxin/documents", s3_endpoint)]


def test_each_storage_keeps_reads_and_deletes_sealed_objects(tmp_path, s3_endpoint, bucket):
    sealer = Sealer("a development key")
    for store in both(tmp_path, s3_endpoint, bucket):
        key = new_object_key()
        store.put(key, sealer.seal(key, SECRET_TEXT))
        sealed = store.get(key)
        assert SECRET_TEXT not in sealed and "张伟".encode() not in sealed
        assert sealer.open(key, sealed) == SECRET_TEXT
        store.delete(key)
        with pytest.raises(Missing):
            store.get(key)
        store.delete(key)  # deleting twice is no error: a purge run again finds nothing to do


def test_the_s3_objects_are_under_the_prefix_and_private(s3_endpoint, bucket):
    import boto3
    store = S3Bucket(bucket, "kuanxin/documents", s3_endpoint)
    key = new_object_key()
    store.put(key, b"sealed")
    client = boto3.client("s3", endpoint_url=s3_endpoint)
    listed = [item["Key"] for item in client.list_objects_v2(Bucket=bucket)["Contents"]]
    assert listed == [f"kuanxin/documents/{key}"]
    grants = client.get_object_acl(Bucket=bucket, Key=listed[0])["Grants"]
    assert all("AllUsers" not in str(grant.get("Grantee", {})) for grant in grants)


def test_the_local_folder_is_readable_by_its_owner_only(tmp_path):
    store = LocalFolder(tmp_path / "documents")
    key = new_object_key()
    store.put(key, b"sealed")
    path = tmp_path / "documents" / key[:2] / key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not list(path.parent.glob(".*partial"))  # written whole, then renamed


def test_object_keys_are_random_and_never_paths(tmp_path):
    keys = {new_object_key() for _ in range(1000)}
    assert len(keys) == 1000 and all(len(key) >= 43 for key in keys)
    store = LocalFolder(tmp_path / "documents")
    for bad in ("../../etc/passwd", "a/b", "short", "x" * 40 + "/.."):
        with pytest.raises(ValueError):
            store.put(bad, b"x")


def test_a_sealed_object_opens_only_with_its_key_and_unchanged():
    sealer, other = Sealer("the configured key"), Sealer("another key")
    key, second = new_object_key(), new_object_key()
    sealed = sealer.seal(key, SECRET_TEXT)
    assert sealer.seal(key, SECRET_TEXT) != sealed  # a fresh nonce every time
    with pytest.raises(Unreadable):
        other.open(key, sealed)
    with pytest.raises(Unreadable):
        sealer.open(second, sealed)  # moved under another object key
    tampered = bytearray(sealed)
    tampered[-20] ^= 1
    with pytest.raises(Unreadable):
        sealer.open(key, bytes(tampered))
    with pytest.raises(Unreadable):
        sealer.open(key, SECRET_TEXT)  # never sealed


def test_the_storage_and_key_come_from_the_configuration(tmp_path, monkeypatch, s3_endpoint, bucket):
    monkeypatch.setenv("KUANXIN_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("KUANXIN_DOCUMENT_STORE", raising=False)
    monkeypatch.delenv("KUANXIN_DOCUMENT_KEY", raising=False)
    local = storages.configured()
    assert isinstance(local, LocalFolder) and local.root == tmp_path / "documents"
    made = Sealer.configured()  # the development default: made once under var/, owner-only
    key_file = tmp_path / "document-key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    object_key = new_object_key()
    assert Sealer(key_file.read_text()).open(object_key, made.seal(object_key, b"x")) == b"x"
    monkeypatch.setenv("KUANXIN_DOCUMENT_KEY", "configured in production")
    with pytest.raises(Unreadable):
        Sealer.configured().open(object_key, made.seal(object_key, b"x"))
    monkeypatch.setenv("KUANXIN_DOCUMENT_STORE", f"s3://{bucket}/prod")
    monkeypatch.setenv("KUANXIN_DOCUMENT_STORE_ENDPOINT", s3_endpoint)
    remote = storages.configured()
    assert isinstance(remote, S3Bucket) and (remote.bucket, remote.prefix) == (bucket, "prod")
    remote.put(object_key, b"sealed")
    assert remote.get(object_key) == b"sealed"
    monkeypatch.setenv("KUANXIN_DOCUMENT_STORE", "/srv/documents")
    with pytest.raises(ValueError, match="KUANXIN_DOCUMENT_STORE must be s3://bucket/prefix"):
        storages.configured()
    assert settings.problem(settings.BY_NAME["KUANXIN_DOCUMENT_STORE"], "/srv/documents")  # kuanxin config check
    assert settings.problem(settings.BY_NAME["KUANXIN_DOCUMENT_STORE"], "s3://kuanxin-documents/prod") is None
