"""Synthetic scenarios with ground truth, for `aiops generate`.

A scenario is a service topology, faults that cascade upstream through it, background noise,
change records and the alert events all of these raise, delivered out of order; plus
`truth.json`, which says which fault or noise source every alert came from. Modules by
concern: `topology` (the service graph), `schedule` (fault onsets and roots), `cascade`
(upstream spread), `faults` (a fault's alerts), `noise`, `changes`, `series` and `lifecycle`
(one alert from firing to resolve), `delivery` (out-of-order arrival), `profiles` (parameters),
`scenario` (putting it together) and `writer` (the files).
"""

from aiops.scenarios.profiles import PROFILES, Params, profile_params, validate
from aiops.scenarios.scenario import Scenario, generate, generate_for_target
from aiops.scenarios.writer import write_scenario

__all__ = [
    "PROFILES",
    "Params",
    "Scenario",
    "generate",
    "generate_for_target",
    "profile_params",
    "validate",
    "write_scenario",
]
