"""A few labelled messages for the tiny-model tests."""

from kgrec.domain import IntentType

TRAIN = [
    ("show me red running shoes under 100", IntentType.RECOMMEND, False),
    ("show me nike running shoes", IntentType.RECOMMEND, False),
    ("something cheaper", IntentType.REFINE, True),
    ("not that brand", IntentType.REFINE, True),
    ("compare the first and the second", IntentType.COMPARE, True),
    ("is the first one waterproof", IntentType.ASK_ITEM, True),
    ("i loved the second one", IntentType.FEEDBACK, True),
    ("hi", IntentType.OTHER, False),
    ("thanks bye", IntentType.OTHER, False),
]
