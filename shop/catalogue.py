"""What the demo shop sells: monthly and weekly subscriptions, paid by scheduled Pix (Efí recurrences)."""

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Offer:
    slug: str
    name: str
    description: str
    amount: Decimal
    kind: str  # Efí recorrencia.tipo: mensal, semanal, diaria
    quantity: int

    @property
    def every(self) -> str:
        return {"mensal": "por mês", "semanal": "por semana", "diaria": "por dia"}[self.kind]


OFFERS: tuple[Offer, ...] = (
    Offer("cafe", "Clube do Café", "Um pacote de café especial em casa todo mês.", Decimal("29.90"), "mensal", 3),
    Offer("livros", "Clube do Livro", "Um livro por mês, escolhido por livreiros.", Decimal("49.90"), "mensal", 6),
    Offer("cesta", "Cesta da Feira", "Frutas e verduras da estação toda semana.", Decimal("59.90"), "semanal", 4),
)


def offer(slug: str) -> Offer | None:
    return next((o for o in OFFERS if o.slug == slug), None)
