"""Image and file messages from WeChat: read from the push, and their content fetched through the media API (the
WeChat double), within the policy's size."""
from __future__ import annotations

import pytest

from kuanxin.wechat.api import MediaTooLarge, WeChatApiError
from testkit.wechat import Platform, file_xml, image_xml
from tests.unit import evidence_files as files
from tests.unit.test_wechat import account, api_double, client_for, closing, inbound_for, run  # noqa: F401


def read(account, xml):  # noqa: F811
    platform = Platform(account, "unused")
    return inbound_for(account, "plain").read(platform.query(body=xml, encrypted=False), xml.encode())


def test_image_and_file_messages_carry_their_media_id_and_title(account):  # noqa: F811
    image = read(account, image_xml("oUser123456", "media-abc_1", 88))
    assert (image.kind, image.media_id, image.name, image.dedup_key) == ("image", "media-abc_1", "", "msg:88")
    pdf = read(account, file_xml("oUser123456", "media-def", "诊断证明.pdf", 89))
    assert (pdf.kind, pdf.media_id, pdf.name) == ("file", "media-def", "诊断证明.pdf")
    odd = read(account, image_xml("oUser123456", "../../etc/passwd", 90))
    assert odd.kind == "unsupported"  # a media id WeChat would never send is not fetched


def test_media_is_downloaded_whole_and_refused_past_the_limit(account, api_double):  # noqa: F811
    photo = files.jpeg_with_gps()
    media_id = api_double.add_media(photo, "image/jpeg")
    client = client_for(account, api_double)
    assert run(closing(client, client.download_media(media_id, 10 * 1024 * 1024))) == photo
    client = client_for(account, api_double)
    with pytest.raises(MediaTooLarge):
        run(closing(client, client.download_media(media_id, len(photo) - 1)))
    client = client_for(account, api_double)
    with pytest.raises(WeChatApiError) as refused:
        run(closing(client, client.download_media("media-unknown", 1024)))
    assert refused.value.errcode == 40007
    assert api_double.media_requests == [media_id, media_id]


def test_a_revoked_token_is_renewed_once_for_a_download(account, api_double):  # noqa: F811
    pdf = files.plain_pdf()
    media_id = api_double.add_media(pdf, "application/pdf")
    client = client_for(account, api_double)

    async def twice():
        await client.access_token()
        api_double.invalidate_token()
        return await client.download_media(media_id, 1024 * 1024)
    assert run(closing(client, twice())) == pdf
    assert ("/cgi-bin/media/get", 40001) in api_double.refused
