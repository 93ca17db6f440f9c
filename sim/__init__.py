"""An agent-based model of England's self-improving school system.

``run(config, seed)`` is the one function experiments build on::

    from sim import SimConfig, run
    results = run(SimConfig(), seed=7)
    results.timeseries, results.events, results.schools
"""

from .parameters import BehaviourParams, ConfigError, PolicyConfig, RunConfig, SimConfig, WorldConfig
from .run import Results, run

__version__ = "0.1.0"
__all__ = ["BehaviourParams", "ConfigError", "PolicyConfig", "Results", "RunConfig", "SimConfig",
           "WorldConfig", "run", "__version__"]
