"""clcsim: a CenturyLink Cloud v2 API simulator for testing fence_clc.

    from clcsim import Simulator
    with Simulator(tls=True) as sim:
        ...  # talk to sim.url, trusting sim.ca_file
"""

from .simulator import Simulator
from .world import DEFAULT_ALIAS, DEFAULT_PASSWORD, DEFAULT_USER, default_config, generate_config

__all__ = ["Simulator", "default_config", "generate_config",
           "DEFAULT_ALIAS", "DEFAULT_USER", "DEFAULT_PASSWORD"]
