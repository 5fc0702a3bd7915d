import yaml

OPERATIONS = {
    "automaticPaymentsPostRecurringConsents",
    "automaticPaymentsGetRecurringConsentsConsentId",
    "automaticPaymentsPatchRecurringConsentsConsentId",
    "automaticPaymentsPostPixRecurringPayments",
    "automaticPaymentsGetPixRecurringPayments",
    "automaticPaymentsGetPixRecurringPaymentsPaymentId",
    "automaticPaymentsPatchPixRecurringPaymentsPaymentId",
}


def test_schema_documents_every_automatic_payments_v2_operation_from_the_spec(client, db):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    operations = {
        op["operationId"]: (path, method, op)
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if path.startswith("/open-banking/automatic-payments/v2/")
    }
    assert set(operations) == OPERATIONS
    path, method, post_payment = operations["automaticPaymentsPostPixRecurringPayments"]
    assert (path, method) == ("/open-banking/automatic-payments/v2/pix/recurring-payments", "post")
    assert "application/jwt" in post_payment["requestBody"]["content"]
    assert {"201", "400", "401", "403", "422", "529"} <= set(post_payment["responses"])
