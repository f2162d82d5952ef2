"""The live (in-browser) widgets, under the name the chapters import: an alias of
:mod:`dlcourse.widgets.live`, where they are written."""

from .widgets.live import (
    LiveBatchSizeSaddle,
    LiveL1vsL2,
    LiveMomentumValley,
    StaticFallback,
    live_batch_size_saddle,
    live_l1_vs_l2,
    live_momentum_valley,
    module_source,
)

__all__ = [
    "LiveMomentumValley",
    "LiveL1vsL2",
    "LiveBatchSizeSaddle",
    "live_momentum_valley",
    "live_l1_vs_l2",
    "live_batch_size_saddle",
    "StaticFallback",
    "module_source",
]
