"""The live (in-browser) widgets, under the name the chapters import: an alias of
:mod:`dlcourse.widgets.live`, where they are written."""

from .widgets.live import (
    LiveActivationExplorer,
    LiveBatchSizeSaddle,
    LiveL1vsL2,
    LiveMomentumValley,
    LiveOptimizerRace,
    StaticFallback,
    live_activation_explorer,
    live_batch_size_saddle,
    live_l1_vs_l2,
    live_momentum_valley,
    live_optimizer_race,
    module_source,
)

__all__ = [
    "LiveMomentumValley",
    "LiveL1vsL2",
    "LiveBatchSizeSaddle",
    "live_momentum_valley",
    "live_l1_vs_l2",
    "live_batch_size_saddle",
    "LiveOptimizerRace",
    "LiveActivationExplorer",
    "live_optimizer_race",
    "live_activation_explorer",
    "StaticFallback",
    "module_source",
]
