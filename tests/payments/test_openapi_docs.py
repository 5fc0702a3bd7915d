import yaml

OPERATIONS = {
    "paymentsPostConsents",
    "paymentsGetConsentsConsentId",
    "paymentsPostPixPayments",
    "paymentsGetPixPaymentsPaymentId",
    "paymentsPatchPixPaymentsPaymentId",
    "paymentsPatchPixPaymentsConsentId",
}


def test_schema_documents_every_payments_v4_operation_from_the_spec(client, db):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    operations = {
        op["operationId"]: (path, method, op)
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if path.startswith("/open-banking/payments/v4/")
    }
    assert set(operations) == OPERATIONS
    path, method, post_consents = operations["paymentsPostConsents"]
    assert (path, method) == ("/open-banking/payments/v4/consents", "post")
    assert "application/jwt" in post_consents["requestBody"]["content"]
    assert {"201", "400", "401", "403", "422", "529"} <= set(post_consents["responses"])


def test_docs_pages_are_served_offline(client, db):
    for url in ("/api/docs/", "/api/redoc/"):
        response = client.get(url)
        assert response.status_code == 200
        assert b"cdn.jsdelivr" not in response.content
