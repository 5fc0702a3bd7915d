"""Columns the holder's regulated records share (kept out of ``opusof.models``, which the initiator side imports and
which must not reach ``connectors``)."""

from django.db import models

from connectors.interfaces import AccountRef
from opusof.ofb import account_ref


class DebtorAccount(models.Model):
    """The account a consent or enrollment pays from (the request's ``debtorAccount``, or the one the customer chose
    at the bank): ``debtor_account`` is None until one is known."""

    debtor_ispb = models.CharField(max_length=8, blank=True)
    debtor_issuer = models.CharField(max_length=4, blank=True)
    debtor_number = models.CharField(max_length=20, blank=True)
    debtor_account_type = models.CharField(max_length=4, blank=True)

    class Meta:
        abstract = True

    @property
    def debtor_account(self) -> AccountRef | None:
        if not self.debtor_number:
            return None
        return account_ref(self.debtor_ispb, self.debtor_issuer, self.debtor_number, self.debtor_account_type)

    def set_debtor_account(self, account: AccountRef) -> None:
        self.debtor_ispb = account.ispb
        self.debtor_issuer = account.issuer or ""
        self.debtor_number = account.number
        self.debtor_account_type = str(account.account_type)
