"""The turn pipeline's knobs, in one typed class (documented defaults)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from models.scoring.blend import BlendWeights

    from .sessions import SessionPolicy

__all__ = ["PipelineConfig"]


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    """Knobs of the turn pipeline (documented defaults); the ranking's own weights are
    :class:`models.scoring.blend.BlendWeights`."""

    candidate_pool: int = 300  # candidates fetched from the graph per turn
    link_threshold: float = 0.5  # linked entities below this score are ignored
    wish_link_threshold: float = 0.9  # a soft wish ("winter") links only to a near-exact name
    explain_top: int = 10  # items that get KG paths looked up
    path_hops: int = 2
    paths_per_item: int = 3
    w_match: float = 1.0  # see BlendWeights
    w_model: float = 1.0
    w_popularity: float = 0.3
    w_disliked_brand: float = 0.5
    w_price_level: float = 4.0
    session_ttl_s: float = 24 * 3600  # see server.sessions.SessionPolicy
    session_purge_interval_s: float = 60.0
    session_purge_batch: int = 1000
    session_write_attempts: int = 40
    log_message_text: bool = False  # debug: log what shoppers type (off: never logged)
    hide_named_items: bool = True  # a product the shopper names is not recommended back
    demote_shown: bool = True  # shown and passed over ranks lower on a turn with nothing new
    close_matches: bool = True  # too few exact matches: fill with ones missing a brand/attribute
    # learning from feedback (issue 16; see server.settings.Settings for each one's meaning)
    adapt_session: bool = True
    adapt_profile: bool = True
    profile_half_life_days: float = 30.0
    rerank_policy: str = "off"
    explore_rate: float = 0.0
    explore_top: int = 20
    seed: int = 7  # exploration draws: turn n of the process draws from (seed, n)
    policy_save_interval_s: float = 60.0  # a learning ranking policy's state is saved this often
    # with several worker processes, each merges the policies' state this often (server.learning)
    policy_sync_interval_s: float = 2.0

    @property
    def demotes_shown(self) -> bool:
        """Whether a turn's ranking demotes what the session showed and the shopper passed
        over (:meth:`server.turn.Turn.passed_over`): the score step and ``bench.crs_gap``."""
        return self.adapt_session and self.demote_shown

    def blend_weights(self) -> BlendWeights:
        from models.scoring.blend import BlendWeights

        return BlendWeights(
            self.w_match, self.w_model, self.w_popularity, self.w_disliked_brand, self.w_price_level
        )

    def session_policy(self) -> SessionPolicy:
        from .sessions import SessionPolicy

        return SessionPolicy(
            self.session_ttl_s,
            self.session_purge_interval_s,
            self.session_purge_batch,
            self.session_write_attempts,
        )
