"""Item encoders: text (MiniLM), image (EfficientNet-Lite0), rating statistics, fusion."""

from models.encoders.efficientnet_lite import EfficientNetLite0
from models.encoders.embedding_cache import EmbeddingCache, content_key
from models.encoders.image_encoder import ImageEncoder
from models.encoders.item_features import ItemFeatures
from models.encoders.modality_fusion import ModalityFusion
from models.encoders.rating_features import RATING_FEATURE_DIM, rating_features
from models.encoders.text_encoder import TextEncoder

__all__ = [
    "RATING_FEATURE_DIM",
    "EfficientNetLite0",
    "EmbeddingCache",
    "ImageEncoder",
    "ItemFeatures",
    "ModalityFusion",
    "TextEncoder",
    "content_key",
    "rating_features",
]
