"""A demo user's latent taste: the ground truth interactions are drawn from."""

from __future__ import annotations

from dataclasses import dataclass

#: Utility weights of the taste model (see :class:`UserTaste`).
CATEGORY_WEIGHT = 3.5
BRAND_WEIGHT = 1.5
COLOR_WEIGHT = 1.0


@dataclass(frozen=True, slots=True)
class UserTaste:
    """What one demo user likes.

    The utility of product :math:`i` for this user is

    .. math::
        u_i = 3.5\\,a_{c(i)} + 1.5\\,[b(i) \\in B] + 1.0\\,[k(i) \\in K]
              - s \\cdot \\log(p_i / \\bar p_{c(i)}) + q_i

    with :math:`a_c` the affinity to category :math:`c` (``categories``, 0 when absent),
    :math:`B` the preferred ``brands``, :math:`K` the preferred ``colors``, :math:`s` the
    ``price_sensitivity``, :math:`p_i` the price, :math:`\\bar p_c` the category base price and
    :math:`q_i` the product's latent quality. Interactions are sampled with probability
    :math:`\\propto \\exp(u_i)` (Gumbel top-k, without replacement); ``activity`` is the expected
    number of distinct products the user touches.
    """

    user_id: str
    categories: dict[str, float]  # leaf category id -> affinity in (0, 1]
    brands: tuple[str, ...]  # brand ids
    colors: tuple[str, ...]  # color names ("red")
    price_sensitivity: float  # >= 0; 0 ignores price
    activity: float  # expected number of distinct products interacted with


__all__ = ["BRAND_WEIGHT", "CATEGORY_WEIGHT", "COLOR_WEIGHT", "UserTaste"]
