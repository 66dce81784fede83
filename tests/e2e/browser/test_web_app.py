"""The web app answers in a real browser (each feature adds its own page tests beside this one)."""


def test_web_app_serves_pages_to_a_real_browser(servers, new_context):
    page = new_context().new_page()
    response = page.goto(f"{servers.web_url}/health")
    assert response.status == 200
    assert '"ok"' in page.content()
