"""A real browser as the TPP's device: headless Chromium (Debian ``chromium`` via Playwright) with a virtual
authenticator (Chrome DevTools Protocol ``WebAuthn`` domain) registers a credential and signs a payment consent
from a small demo TPP page; the test relays the results to the API like the TPP's backend would."""

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from enrollments.models import FidoCredential
from tests.support.browser import local_http_server, static_page_handler
from tests.support.enrollments_v2 import EnrollmentsV2
from tests.support.payment_bodies import consent_data
from tests.support.payments_v4 import PaymentsV4

pytestmark = pytest.mark.browser

DEMO_TPP_PAGE = b"""<!doctype html><html><head><meta charset="utf-8"><title>Demo TPP</title></head>
<body id="demo-tpp">
<script>
const dec = (s) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
const enc = (b) => btoa(String.fromCharCode(...new Uint8Array(b))).replace(/\\+/g, "-").replace(/\\//g, "_")
  .replace(/=+$/, "");
const ids = (list) => (list || []).map((c) => ({ ...c, id: dec(c.id) }));
const within = (p) => Promise.race([p, new Promise((_, no) => setTimeout(() => no(new Error("timeout")), 20000))]);
window.register = async (o) => {
  const publicKey = { ...o, challenge: dec(o.challenge), user: { ...o.user, id: dec(o.user.id) },
                      excludeCredentials: ids(o.excludeCredentials) };
  delete publicKey.enrollmentId;
  const c = await within(navigator.credentials.create({ publicKey }));
  return { id: c.id, rawId: enc(c.rawId), type: c.type, authenticatorAttachment: c.authenticatorAttachment,
           response: { clientDataJSON: enc(c.response.clientDataJSON),
                       attestationObject: enc(c.response.attestationObject) },
           clientExtensionResults: c.getClientExtensionResults() };
};
window.sign = async (o) => {
  const publicKey = { ...o, challenge: dec(o.challenge), allowCredentials: ids(o.allowCredentials) };
  const c = await within(navigator.credentials.get({ publicKey }));
  return { id: c.id, rawId: enc(c.rawId), type: c.type,
           response: { clientDataJSON: enc(c.response.clientDataJSON),
                       authenticatorData: enc(c.response.authenticatorData),
                       signature: enc(c.response.signature),
                       userHandle: c.response.userHandle ? enc(c.response.userHandle) : "" },
           clientExtensionResults: c.getClientExtensionResults() };
};
</script></body></html>"""


@pytest.fixture
def demo_tpp_origin() -> Iterator[str]:
    """The TPP's web page on a real local server; ``localhost`` is a secure context, so WebAuthn runs over HTTP."""
    with local_http_server(static_page_handler(DEMO_TPP_PAGE)) as port:
        yield f"http://localhost:{port}"


@pytest.fixture
def device_page(browser: Browser, demo_tpp_origin: str) -> Page:
    """The TPP's page in the shared headless Chromium, with a virtual platform authenticator (CDP WebAuthn)."""
    page = browser.new_page()
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    page.goto(f"{demo_tpp_origin}/enroll")
    return page


# Playwright's sync API gives this thread another Django connection: only committed rows are shared.
@pytest.mark.django_db(transaction=True)
def test_browser_registers_a_credential_and_signs_a_consent(
    v2: EnrollmentsV2, v4: PaymentsV4, demo_tpp_origin: str, device_page: Page
) -> None:
    # given a TPP whose registered origin is the demo page's, and an enrollment approved at the bank
    v2.tpp.client.redirect_uris = [f"{demo_tpp_origin}/callback"]
    v2.tpp.client.save()
    enrollment_id = v2.awaiting_enrollment()

    # when the browser's authenticator creates the credential from our options
    response, options = v2.registration_options(enrollment_id, rp="localhost")
    assert response.status_code == 201, options
    credential = device_page.evaluate("(o) => window.register(o)", options["data"])
    response, body = v2.register(enrollment_id, credential)

    # then it is verified and the enrollment is AUTHORISED
    assert response.status_code == 204, body
    assert v2.get(enrollment_id)["status"] == "AUTHORISED"
    assert FidoCredential.objects.get(enrollment__enrollment_id=enrollment_id).credential_id == credential["id"]

    # and an assertion signed in the browser authorises a payment consent
    consent_id = v4.create_consent(consent_data(amount="25.00"))
    response, sign = v2.sign_options(enrollment_id, consent_id, rp="localhost")
    assert response.status_code == 201, sign
    assertion = device_page.evaluate("(o) => window.sign(o)", sign["data"])
    response, body = v2.authorise(consent_id, enrollment_id, assertion)
    assert response.status_code == 204, body
    assert v4.get_consent(consent_id)["status"] == "AUTHORISED"
