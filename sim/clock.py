"""Units of simulated time, in seconds: one definition for every module, kernels included.

A month is 30 days throughout (growth per month, upkeep per month, volatility per month). This
module imports nothing, so the numba kernels can read its constants as compile-time numbers.
"""

MINUTE_S = 60.0
HOUR_S = 3600.0
DAY_S = 86400.0
DAYS_PER_MONTH = 30.0
MONTH_S = DAYS_PER_MONTH * DAY_S
